#!/usr/bin/env bash
# Install (when missing) and start the services the test suite needs, then
# write their addresses to var/services.env. Safe to run again: what is
# installed and running is left as it is.
#
# A service that cannot be installed or started is reported and left out of
# var/services.env, so the tests that need it skip instead of the whole suite
# stopping here.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
root=$PWD

env_file=var/services.env
env_partial=$env_file.partial
: >"$env_partial"
failed=()

# Bounds, in seconds, on each slow step.
apt_timeout=${SKILLINSTALL_APT_TIMEOUT:-1200}
start_timeout=${SKILLINSTALL_START_TIMEOUT:-60}
base_image_timeout=${SKILLINSTALL_BASE_IMAGE_TIMEOUT:-1800}

postgres_role=skillinstall
postgres_db=skillinstall
redis_port=6379
docker_image=skillinstall/base:test

say() { printf 'services.sh: %s\n' "$*" >&2; }

add_env() {
  printf 'export %s=%q\n' "$1" "$2" >>"$env_partial"
}

# Wait until "$@" succeeds, for at most $start_timeout seconds.
wait_for() {
  local deadline=$((SECONDS + start_timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# Run one step in a subshell with errexit in force, so a failing command
# inside it ends that step only; the step's name is recorded as failed.
step() {
  local name=$1 started=$SECONDS rc
  shift
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  if ((rc)); then
    failed+=("$name")
    say "$name: not available (see the messages above); tests that need it will skip"
  else
    say "$name: ready ($((SECONDS - started))s)"
  fi
}

# --- packages ---------------------------------------------------------------

# Each entry: a command that shows the service is installed, then the Debian
# packages that provide it.
declare -A provides=(
  [pg_ctlcluster]="postgresql"
  [redis-server]="redis-server"
  [dockerd]="docker.io"
  [debootstrap]="debootstrap"
  [gpgv]="gpgv"
  [chromium]="chromium"
  [chromedriver]="chromium-driver"
  [node]="nodejs"
  [npm]="npm"
)

missing=()
for command in "${!provides[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${provides[$command]}")
done

# Another apt run holding the dpkg lock is waited for, within the bound.
apt_get() {
  DEBIAN_FRONTEND=noninteractive timeout "$apt_timeout" \
    apt-get -o DPkg::Lock::Timeout="$apt_timeout" "$@" </dev/null >>var/apt.log 2>&1
}

apt_install() {
  apt_get install -y -qq --no-install-recommends "$@"
}

install_missing() {
  if [ "$(id -u)" != 0 ]; then
    say "cannot install ${missing[*]}: not root; install them or run as root"
    return 1
  fi
  say "installing ${missing[*]} (log in var/apt.log)"
  if ! apt_get update -qq; then
    say "apt-get update failed; trying the package lists already on this machine"
  fi
  apt_install "${missing[@]}" && return 0

  # One unavailable package should not keep the others out.
  local package rc=0
  for package in "${missing[@]}"; do
    if ! apt_install "$package"; then
      say "apt-get install $package failed; see var/apt.log"
      rc=1
    fi
  done
  return "$rc"
}

if ((${#missing[@]})); then
  step packages install_missing
fi

# --- PostgreSQL -------------------------------------------------------------

start_postgres() {
  if ! command -v pg_ctlcluster >/dev/null; then
    say "postgres: postgresql is not installed"
    return 1
  fi

  local version cluster port status
  read -r version cluster port status _ < <(
    pg_lsclusters --no-header | head -n1) || true
  if [ -z "${version:-}" ]; then
    version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' |
      sort -V | tail -n1)
    cluster=main
    say "postgres: creating cluster $version/$cluster"
    pg_createcluster "$version" "$cluster" >/dev/null
    read -r version cluster port status _ < <(
      pg_lsclusters --no-header "$version" "$cluster")
  fi
  if [[ $status != online* ]]; then
    timeout "$start_timeout" pg_ctlcluster "$version" "$cluster" start
  fi
  if ! wait_for pg_isready -q -h 127.0.0.1 -p "$port"; then
    say "postgres: $version/$cluster accepts no connections on 127.0.0.1:$port"
    return 1
  fi

  # The role belongs to the machine, not the checkout, so its password is
  # kept per user: two clones sharing this server must not reset each
  # other's password.
  local state_dir=${XDG_STATE_HOME:-$HOME/.local/state}/skillinstall password
  local password_file=$state_dir/postgres_password
  if [ ! -s "$password_file" ]; then
    mkdir -p "$state_dir"
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$password_file")
  fi
  password=$(cat "$password_file")

  local psql=(psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres)
  if [ "$(id -u)" = 0 ]; then
    psql=(runuser -u postgres -- "${psql[@]}")
  else
    psql+=(-h 127.0.0.1)
  fi
  # The role needs CREATEDB because pytest-django creates its test databases.
  "${psql[@]}" -v role="$postgres_role" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN CREATEDB PASSWORD :'password';
SQL
  "${psql[@]}" -v role="$postgres_role" -v db="$postgres_db" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL

  add_env SKILLINSTALL_TEST_POSTGRES_URL \
    "postgres://$postgres_role:$password@127.0.0.1:$port/$postgres_db"
}

# --- Redis ------------------------------------------------------------------

redis_ping() {
  [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ]
}

start_redis() {
  if ! command -v redis-server >/dev/null; then
    say "redis: redis-server is not installed"
    return 1
  fi

  if ! redis_ping; then
    mkdir -p var/redis
    # Tests only need a broker, so nothing is persisted.
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" \
      --dir "$root/var/redis" --logfile "$root/var/redis.log" \
      --pidfile "$root/var/redis.pid" --save '' --appendonly no
    if ! wait_for redis_ping; then
      say "redis: no answer on 127.0.0.1:$redis_port; see var/redis.log"
      return 1
    fi
  fi
  add_env SKILLINSTALL_TEST_REDIS_URL "redis://127.0.0.1:$redis_port/0"
}

# --- Docker -----------------------------------------------------------------

# Ends the wait when the engine answers, or at once when dockerd has died.
docker_ready() {
  kill -0 "$1" 2>/dev/null || return 0
  docker info
}

start_docker() {
  if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
    say "docker: docker.io (docker and dockerd) is not installed"
    return 1
  fi

  if ! timeout 20 docker info >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      say "docker: no engine answers and starting dockerd needs root"
      return 1
    fi
    say "docker: starting dockerd (log in var/dockerd.log)"
    # setsid detaches the engine from this script, so it outlives `make test`.
    setsid dockerd >var/dockerd.log 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >var/dockerd.pid
    wait_for docker_ready "$pid" || true
    if ! timeout 20 docker info >/dev/null 2>&1; then
      tail -n 15 var/dockerd.log >&2
      if kill -0 "$pid" 2>/dev/null; then
        say "docker: no answer within ${start_timeout}s; see var/dockerd.log"
      else
        say "docker: dockerd exited; the lines above, from var/dockerd.log, say why"
      fi
      return 1
    fi
  fi

  if ! timeout "$base_image_timeout" \
      bash scripts/base_image.sh "$docker_image"; then
    say "docker: could not make the base image $docker_image"
    return 1
  fi
  add_env SKILLINSTALL_TEST_DOCKER_IMAGE "$docker_image"
}

# --- Chromium and Node ------------------------------------------------------

find_chromium() {
  local chromium
  if ! chromium=$(command -v chromium) || ! command -v chromedriver >/dev/null; then
    say "chromium: chromium and chromium-driver are not both installed"
    return 1
  fi
  add_env SKILLINSTALL_TEST_CHROMIUM "$chromium"
}

check_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "node: node and npm are not both installed"
    return 1
  fi
}

step postgres start_postgres
step redis start_redis
step docker start_docker
step chromium find_chromium
step node check_node

mv "$env_partial" "$env_file"
if ((${#failed[@]})); then
  say "unavailable: ${failed[*]}; wrote the rest to $env_file"
else
  say "all services ready in ${SECONDS}s; wrote $env_file"
fi
