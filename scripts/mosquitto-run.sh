#!/usr/bin/env bash
# Run Comptoir's Mosquitto in the foreground (make run / honcho, and the comptoir-broker
# systemd unit in production), data in <instance>/mosquitto.
#
#   COMPTOIR_INSTANCE_PATH     the instance folder (default instance/ in the checkout)
#   COMPTOIR_MQTT_PORT         listener port (default 1883), on COMPTOIR_MQTT_BIND (127.0.0.1)
#   COMPTOIR_MQTT_URL          the bridge's login is taken from it
#                              (default mqtt://bridge:bridge-demo@127.0.0.1:1883)
#   COMPTOIR_MQTT_LABELS_URL   the shelf-label publisher's login, likewise
#                              (default mqtt://labels:labels-demo@127.0.0.1:1883)
#   COMPTOIR_MQTT_DEVICES      "user:password ..." for the simulator, the devices and the
#                              sellers' tablets (default: the simulator, demo devices, tablet-1)
#
# Every process gets its own login: the broker binds client ids to logins
# (use_username_as_clientid), so two processes sharing one would take each other's session.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mosquitto >/dev/null 2>&1 && ! test -x /usr/sbin/mosquitto; then
    scripts/ensure-system-packages.sh mosquitto || {
        echo "The MQTT broker is missing: apt-get install -y mosquitto" >&2
        exit 1
    }
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

dir="${COMPTOIR_INSTANCE_PATH:-$PWD/instance}/mosquitto"
mkdir -p "$dir/data"
chmod 700 "$dir"

# "user:password" of an mqtt://user:password@host:port URL.
login() {
    local credentials=${1#mqtt://}
    echo "${credentials%@*}"
}
bridge=$(login "${COMPTOIR_MQTT_URL:-mqtt://bridge:bridge-demo@127.0.0.1:1883}")
labels=$(login "${COMPTOIR_MQTT_LABELS_URL:-mqtt://labels:labels-demo@127.0.0.1:1883}")
devices=${COMPTOIR_MQTT_DEVICES:-"simulator:simulator-demo shelf-1:shelf-demo zone-1:zone-demo door-1:door-demo tablet-1:tablet-demo"}

users=()
for entry in "$bridge" "$labels" $devices; do
    user=${entry%%:*}
    for seen in "${users[@]}"; do
        if [[ $seen == "$user" ]]; then
            echo "mosquitto-run.sh: the login $user is given twice; every process needs its own" >&2
            exit 1
        fi
    done
    users+=("$user")
done

rm -f "$dir/passwd.new"
touch "$dir/passwd.new"
chmod 600 "$dir/passwd.new"
for entry in "$bridge" "$labels" $devices; do
    mosquitto_passwd -b "$dir/passwd.new" "${entry%%:*}" "${entry#*:}"
done
mv "$dir/passwd.new" "$dir/passwd"
# The ACL names the bridge and label publisher users "bridge" and "labels"; follow renamed ones.
sed -e "s/^user bridge$/user ${bridge%%:*}/" -e "s/^user labels$/user ${labels%%:*}/" \
    config/mosquitto/acl >"$dir/acl"

# As root, mosquitto would switch to the "mosquitto" user, who cannot read instance/.
user_line=""
if [[ $(id -u) -eq 0 ]]; then
    user_line="user root"
fi
sed -e "s|@DATA_DIR@|$dir/data|" \
    -e "s|@PORT@|${COMPTOIR_MQTT_PORT:-1883}|" \
    -e "s|@BIND@|${COMPTOIR_MQTT_BIND:-127.0.0.1}|" \
    -e "s|@PASSWORD_FILE@|$dir/passwd|" \
    -e "s|@ACL_FILE@|$dir/acl|" \
    -e "s|@USER_LINE@|$user_line|" \
    config/mosquitto/mosquitto.conf >"$dir/mosquitto.conf"

exec "$MOSQUITTO" -c "$dir/mosquitto.conf"
