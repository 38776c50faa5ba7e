#!/bin/bash
# docker-entrypoint.sh for lo2-lab/mariadb: the official mysql/mariadb image's contract.
# First start (no /var/lib/mysql/mysql): install the system tables, start a temporary server on
# the socket only, set the root password (MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD or
# MYSQL_RANDOM_ROOT_PASSWORD; MARIADB_* and *_FILE work too), create MYSQL_DATABASE and
# MYSQL_USER/MYSQL_PASSWORD, run /docker-entrypoint-initdb.d/*.{sh,sql,sql.gz,sql.xz} once, stop
# the temporary server. Later starts skip all of it. Then exec mariadbd in the foreground.
set -eo pipefail
shopt -s nullglob

log() { printf '%s [Note] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; }
warn() { printf '%s [Warn] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; }
die() {
  printf '%s [ERROR] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2
  exit 1
}

# env NAME: $MYSQL_NAME, $MARIADB_NAME, or the content of the file named by either's _FILE.
env_of() {
  local name=$1 v
  for v in "MARIADB_$name" "MYSQL_$name"; do
    if [ -n "${!v:-}" ]; then printf '%s' "${!v}"; return; fi
    local f="${v}_FILE"
    if [ -n "${!f:-}" ]; then cat "${!f}"; return; fi
  done
}

sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }

# mysql:5.7 and MySQL 8 options that MariaDB would refuse to start with
filter_args() {
  local a
  args=()
  for a in "$@"; do
    case $a in
    --default-authentication-plugin=* | --default_authentication_plugin=*) warn "ignoring $a (MySQL only)" ;;
    *) args+=("$a") ;;
    esac
  done
}

socket=/run/mysqld/mysqld.sock
temp_pid=""

temp_server_start() {
  "$@" --skip-networking --default-time-zone=SYSTEM --socket="$socket" --wsrep_on=OFF \
    --expire-logs-days=0 --loose-innodb_buffer_pool_load_at_startup=0 \
    --loose-innodb_buffer_pool_dump_at_shutdown=0 &
  temp_pid=$!
  for _ in $(seq 60); do
    if mariadb --protocol=socket --socket="$socket" -uroot --database=mysql -e 'SELECT 1' >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$temp_pid" 2>/dev/null || die "the temporary server failed to start"
    sleep 0.5
  done
  die "the temporary server did not answer in 30 s"
}

temp_server_stop() {
  kill "$temp_pid"
  wait "$temp_pid" || true
}

# client [--no-password] ...: mariadb on the socket as root (with the root password once it is set)
client() {
  if [ "$1" = --no-password ]; then
    shift
    mariadb --protocol=socket --socket="$socket" -uroot "$@"
  else
    MYSQL_PWD=$root_password mariadb --protocol=socket --socket="$socket" -uroot "$@"
  fi
}

run_initdb() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
    *.sh)
      if [ -x "$f" ]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
    *.sql) log "running $f"; client ${database:+--database="$database"} <"$f" ;;
    *.sql.gz) log "running $f"; gunzip -c "$f" | client ${database:+--database="$database"} ;;
    *.sql.xz) log "running $f"; xzcat "$f" | client ${database:+--database="$database"} ;;
    *.sql.zst) log "running $f"; zstd -dc "$f" | client ${database:+--database="$database"} ;;
    *) log "ignoring $f" ;;
    esac
  done
}

init_datadir() {
  local datadir=$1
  shift
  root_password=$(env_of ROOT_PASSWORD)
  local allow_empty random root_host user password
  allow_empty=$(env_of ALLOW_EMPTY_PASSWORD)
  [ -n "$allow_empty" ] || allow_empty=$(env_of ALLOW_EMPTY_ROOT_PASSWORD)
  random=$(env_of RANDOM_ROOT_PASSWORD)
  root_host=$(env_of ROOT_HOST)
  root_host=${root_host:-%}
  database=$(env_of DATABASE)
  user=$(env_of USER)
  password=$(env_of PASSWORD)
  if [ -z "$root_password" ] && [ -z "$allow_empty" ] && [ -z "$random" ]; then
    die "database is uninitialized and password option is not specified
	You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD"
  fi
  if [ -n "$random" ]; then
    root_password=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)
    log "GENERATED ROOT PASSWORD: $root_password"
  fi

  log "Initializing database files"
  mariadb-install-db --user=mysql --datadir="$datadir" --rpm --skip-test-db \
    --auth-root-authentication-method=normal --default-time-zone=SYSTEM --skip-log-bin \
    --loose-innodb_buffer_pool_dump_at_shutdown=0 >&2 || die "mariadb-install-db failed"
  log "Database files initialized"

  log "Starting temporary server"
  temp_server_start "$@"
  log "Temporary server started"

  if [ -z "$(env_of INITDB_SKIP_TZINFO)" ]; then
    mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | client --no-password --database=mysql
  fi
  local rp rh
  rp=$(sql_escape "$root_password")
  rh=$(sql_escape "$root_host")
  log "Securing system users (root password, no anonymous users)"
  client --no-password --binary-mode <<SQL
SET @@SESSION.SQL_LOG_BIN=0;
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS root@'127.0.0.1', root@'::1', ''@'localhost';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname, '\'');
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS \'\'@\'', @@hostname, '\'');
SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$rp');
$(if [ "$root_host" != localhost ]; then
    echo "CREATE USER 'root'@'$rh' IDENTIFIED BY '$rp';"
    echo "GRANT ALL ON *.* TO 'root'@'$rh' WITH GRANT OPTION;"
    echo "GRANT PROXY ON ''@'%' TO 'root'@'$rh' WITH GRANT OPTION;"
  fi)
FLUSH PRIVILEGES;
SQL
  if [ -n "$database" ]; then
    log "Creating database $database"
    client -e "CREATE DATABASE IF NOT EXISTS \`$database\`;"
  fi
  if [ -n "$user" ] && [ -n "$password" ]; then
    log "Creating user $user"
    client -e "CREATE USER '$(sql_escape "$user")'@'%' IDENTIFIED BY '$(sql_escape "$password")';"
    if [ -n "$database" ]; then
      log "Giving user $user access to schema $database"
      client -e "GRANT ALL ON \`$database\`.* TO '$(sql_escape "$user")'@'%';"
    fi
  elif [ -n "$user" ] || [ -n "$password" ]; then
    warn "MYSQL_USER and MYSQL_PASSWORD must both be set for a user to be created"
  fi

  run_initdb

  log "Stopping temporary server"
  temp_server_stop
  log "Temporary server stopped"
  log "MariaDB init process done. Ready for start up."
}

# "mariadbd --opt" or just "--opt": the server; anything else runs as given.
if [ "${1:0:1}" = - ]; then
  set -- mariadbd "$@"
fi
case ${1:-} in
mysqld | mariadbd | mysqld_safe) ;;
*) exec "$@" ;;
esac
shift
filter_args "$@"
set -- mariadbd --user=mysql "${args[@]}"

datadir=$("$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }')
datadir=${datadir:-/var/lib/mysql/}
mkdir -p "$datadir" /run/mysqld
chown mysql:mysql /run/mysqld
find "$datadir" \! -user mysql -exec chown mysql:mysql '{}' + 2>/dev/null || true

if [ -d "$datadir/mysql" ]; then
  log "Database already initialized in $datadir: skipping initialization"
else
  init_datadir "$datadir" "$@"
fi
log "Starting $*"
exec "$@"
