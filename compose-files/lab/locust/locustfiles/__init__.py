"""The lab's Locust tasks, one module per OAuth2 service; locust_main.py collects them."""
