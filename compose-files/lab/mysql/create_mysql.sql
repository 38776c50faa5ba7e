-- create_mysql.sql: the schema and seed data of the lo2 lab stack, in the shape of light-oauth2's
-- light-oauth2/mysql/create_mysql.sql. lo2 runs it once MariaDB answers (mysql.init_sql in
-- lo2.yml), as the LO2 pipeline ran `mysql -uroot -p... < create_mysql.sql`; it is NOT mounted
-- into /docker-entrypoint-initdb.d. Running it again resets every table.
--
-- It deliberately holds what a statement splitter must get right: semicolons and quotes inside
-- strings ('a;b', 'O''Brien', "double \"quoted\"", backslashes), semicolons in comments like
-- this one; and a /* block comment; with semicolons */ below.

CREATE DATABASE IF NOT EXISTS oauth2;
GRANT ALL PRIVILEGES ON oauth2.* TO 'mysqluser'@'%';
FLUSH PRIVILEGES;

USE oauth2;

/* Tables are dropped children first; the services keep their connections open and retry while a
   table is missing (error 1146); so a re-run in the middle of a load test is survivable. */
DROP TABLE IF EXISTS client_service;
DROP TABLE IF EXISTS service_endpoint;
DROP TABLE IF EXISTS authorization_code;
DROP TABLE IF EXISTS oauth_token; -- of older lab versions
DROP TABLE IF EXISTS refresh_token;
DROP TABLE IF EXISTS service;
DROP TABLE IF EXISTS client;
DROP TABLE IF EXISTS user_profile;

CREATE TABLE user_profile (
  user_id VARCHAR(32) NOT NULL,
  user_type VARCHAR(16) NOT NULL,  -- admin, customer, employee, partner
  first_name VARCHAR(32) NOT NULL,
  last_name VARCHAR(32) NOT NULL,
  email VARCHAR(64) NOT NULL,
  password VARCHAR(1024) NOT NULL, -- PBKDF2WithHmacSHA1, "1000:<salt hex>:<hash hex>" as light-4j's HashUtil
  roles VARCHAR(2048),             -- space separated
  update_ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE UNIQUE INDEX email_idx ON user_profile(email);

CREATE TABLE client (
  client_id VARCHAR(36) NOT NULL,
  client_type VARCHAR(12) NOT NULL,    -- public, confidential, trusted, external
  client_profile VARCHAR(10) NOT NULL, -- webserver, mobile, browser, service, batch
  client_secret VARCHAR(1024) NOT NULL,
  client_name VARCHAR(32) NOT NULL,
  client_desc VARCHAR(2048),
  scope VARCHAR(4096),
  custom_claim VARCHAR(4096),          -- a JSON object
  redirect_uri VARCHAR(1024),
  authenticate_class VARCHAR(256),
  deref_client_id VARCHAR(36),
  owner_id VARCHAR(32) NOT NULL,
  host VARCHAR(64) NOT NULL DEFAULT 'lightapi.net',
  update_ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (client_id),
  FOREIGN KEY (owner_id) REFERENCES user_profile(user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE service (
  service_id VARCHAR(32) NOT NULL,
  service_type VARCHAR(8) NOT NULL,    -- swagger, openapi, graphql, hybrid, ms
  service_name VARCHAR(32) NOT NULL,
  service_desc VARCHAR(1024),
  scope VARCHAR(1024),
  owner_id VARCHAR(32) NOT NULL,
  host VARCHAR(64) NOT NULL DEFAULT 'lightapi.net',
  update_ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (service_id),
  FOREIGN KEY (owner_id) REFERENCES user_profile(user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE service_endpoint (
  service_id VARCHAR(32) NOT NULL,
  endpoint VARCHAR(256) NOT NULL,      -- e.g. /v1/data@get
  operation VARCHAR(256) NOT NULL,
  scope VARCHAR(64) NOT NULL,
  PRIMARY KEY (service_id, endpoint),
  FOREIGN KEY (service_id) REFERENCES service(service_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE client_service (
  client_id VARCHAR(36) NOT NULL,
  service_id VARCHAR(32) NOT NULL,
  endpoint VARCHAR(256) NOT NULL,
  PRIMARY KEY (client_id, service_id, endpoint),
  FOREIGN KEY (client_id) REFERENCES client(client_id) ON DELETE CASCADE,
  FOREIGN KEY (service_id, endpoint) REFERENCES service_endpoint(service_id, endpoint) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- refresh tokens of oauth2-token, listed, read and revoked by oauth2-refresh-token
CREATE TABLE refresh_token (
  refresh_token VARCHAR(36) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  user_type VARCHAR(16),
  client_id VARCHAR(36) NOT NULL,
  scope VARCHAR(1024) NOT NULL,
  update_ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (refresh_token)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- authorization codes of oauth2-code, consumed by oauth2-token (grant_type=authorization_code)
CREATE TABLE authorization_code (
  code VARCHAR(36) NOT NULL,
  client_id VARCHAR(36) NOT NULL,
  user_id VARCHAR(32) NOT NULL,
  redirect_uri VARCHAR(1024),
  scope VARCHAR(1024),
  code_challenge VARCHAR(128),
  code_challenge_method VARCHAR(8),
  update_ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- users: admin/123456 as in light-oauth2; o'brien's password is "pass;word's"
INSERT INTO user_profile (user_id, user_type, first_name, last_name, email, password, roles)
VALUES ('admin', 'admin', 'Admin', 'Admin', 'admin@networknt.com',
  '1000:5b7a3f0c9e1d4a2b8c6f0e1d2c3b4a59:6be48a6552ee9860c1af06811a20fa1bb0a4f3520d1a0b164cf51aaf41ef570b8496214250da5052c97427e56d79ddcffdd1bbb5f6fefb4e4687db879b96bf75',
  'user admin');
INSERT INTO user_profile (user_id, user_type, first_name, last_name, email, password, roles)
VALUES ('obrien', 'customer', 'Conan', 'O''Brien', 'conan;obrien@example.com',
  '1000:a1b2c3d4e5f60718293a4b5c6d7e8f90:b8b54e93b4e77e3b0a73655f050a288a3d111c02710000ffde1c9f8e29f000592b5431c9120f5bdf60e72afc1fc4317cadc73a8b5d81033d8566235847baf4e4',
  'user; "quoted" role');

-- clients: the PetStore client of light-oauth2 (secret f6h1FTI8Q3-7UScPZDzfXA) and an external one
INSERT INTO client (client_id, client_type, client_profile, client_secret, client_name, client_desc,
  scope, custom_claim, redirect_uri, authenticate_class, owner_id)
VALUES ('f7d42348-c647-4efb-a52d-4c5787421e72', 'trusted', 'mobile',
  '1000:0e3c5a7f9b1d2f4a6c8e0a2c4e6a8c0e:eaca90f9b20b0849f3733d5a359ca49b66adaaf6ffc394f7cffa5947920087545feaad80023c1f6111c9fc00a6444ab7145868afeab405b8576ece9f327605b7',
  'PetStore Web Server', 'PetStore Web Server that calls PetStore API; it''s the "default" client',
  'petstore.r petstore.w', '{"role": "admin;user", "note": "it\'s a \\"claim\\""}',
  'http://localhost:8080/authorization', NULL, 'admin');
INSERT INTO client (client_id, client_type, client_profile, client_secret, client_name, client_desc,
  scope, custom_claim, redirect_uri, authenticate_class, deref_client_id, owner_id)
VALUES ('f7d42348-c647-4efb-a52d-4c5787421e73', 'external', 'service',
  '1000:1f2e3d4c5b6a79881f2e3d4c5b6a7988:1ca776d8cbbe81ba2b195651fb8e88c7bb6ec8866165c2daeb29cf5adade2f987b32b87477e35af4ee4b5a4f187f67ecfc0e194d3bdc35ef5df3baa02a7630ed',
  'Partner; Service', 'A partner''s backend (secret: secret-73)', 'a.r b.r', '{}',
  'https://partner.example.com/cb?x=1;y=2', 'com.networknt.oauth.auth.LightGitHubAuth',
  'f7d42348-c647-4efb-a52d-4c5787421e72', 'obrien');

INSERT INTO service (service_id, service_type, service_name, service_desc, scope, owner_id)
VALUES ('AACT0001', 'swagger', 'Account Service', 'A microservice that serves account information', 'a.r b.r', 'admin'),
       ('AACT0002', 'openapi', 'Pet; Store', 'The "petstore" API; v3 (it''s the demo)', 'petstore.r petstore.w', 'obrien');

INSERT INTO service_endpoint (service_id, endpoint, operation, scope)
VALUES ('AACT0001', '/v1/data@get', 'getData', 'a.r'),
       ('AACT0002', '/v1/pets@get', 'listPets', 'petstore.r'),
       ('AACT0002', '/v1/pets@post', 'createPets', 'petstore.w');

INSERT INTO client_service (client_id, service_id, endpoint)
VALUES ('f7d42348-c647-4efb-a52d-4c5787421e72', 'AACT0002', '/v1/pets@get'),
       ('f7d42348-c647-4efb-a52d-4c5787421e72', 'AACT0002', '/v1/pets@post');
