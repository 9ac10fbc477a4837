#!/usr/bin/env bash
# Run Comptoir's Mosquitto in the foreground (make run / honcho), data in instance/mosquitto.
#
#   COMPTOIR_MQTT_PORT         listener port (default 1883), on COMPTOIR_MQTT_BIND (127.0.0.1)
#   COMPTOIR_MQTT_URL          the bridge's credentials are taken from it
#                              (default mqtt://bridge:bridge-demo@127.0.0.1:1883)
#   COMPTOIR_MQTT_DEVICES      "user:password ..." for the devices and sellers' tablets
#                              (default: demo devices and tablet-1)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mosquitto >/dev/null 2>&1 && ! test -x /usr/sbin/mosquitto; then
    scripts/ensure-system-packages.sh mosquitto || {
        echo "The MQTT broker is missing: apt-get install -y mosquitto" >&2
        exit 1
    }
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

dir="$PWD/instance/mosquitto"
mkdir -p "$dir/data"
chmod 700 "$dir"

url=${COMPTOIR_MQTT_URL:-mqtt://bridge:bridge-demo@127.0.0.1:1883}
credentials=${url#mqtt://}
credentials=${credentials%@*}
bridge_user=${credentials%%:*}
bridge_password=${credentials#*:}
devices=${COMPTOIR_MQTT_DEVICES:-"simulator:simulator-demo shelf-1:shelf-demo zone-1:zone-demo door-1:door-demo tablet-1:tablet-demo"}

rm -f "$dir/passwd.new"
touch "$dir/passwd.new"
chmod 600 "$dir/passwd.new"
mosquitto_passwd -b "$dir/passwd.new" "$bridge_user" "$bridge_password"
for device in $devices; do
    mosquitto_passwd -b "$dir/passwd.new" "${device%%:*}" "${device#*:}"
done
mv "$dir/passwd.new" "$dir/passwd"
# The ACL names the bridge user "bridge"; follow a renamed one.
sed "s/^user bridge$/user $bridge_user/" config/mosquitto/acl >"$dir/acl"

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
