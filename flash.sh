#!/usr/bin/env bash
# Provision, label, image and flash one device (see README "Manufacturing").
#
#   ./flash.sh --board sim                      simulated device on 127.0.0.1
#   ./flash.sh --board ESP32_GENERIC --port /dev/ttyUSB0 --firmware micropython.bin
#   ./flash.sh build --board ESP32_GENERIC      custom firmware with our C module
#
# The first run on a fresh machine installs what it needs (tools/bootstrap,
# the same set-up tests/run uses). Exit codes are srp-iot's (see --help).
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
cd "$repo"
say() { echo "flash.sh: $*" >&2; }

usage() {
  cat <<'EOF2'
usage: ./flash.sh --board BOARD [--port PORT --firmware FILE] [options]
       ./flash.sh build --board BOARD [--idf DIR] [--micropython DIR]

  --board B          sim, ESP32_GENERIC, ESP32_GENERIC_S3, ESP32_GENERIC_C3 (boards/B.json)
  --port P           serial port of the board (not for sim)
  --firmware F       MicroPython firmware .bin for the board (not for sim)
  --cups QUEUE       print the label on this CUPS queue
  --tcp HOST[:PORT]  send the label (ZPL) to a raw TCP printer
  --no-boot          sim: build the device but do not start it
  --no-verify        board: skip reading id + credential back over the REPL after the reset
  --https-port P, --http-port P   sim: listen on these ports instead of device.json's
  other options      passed to `srp-iot flash` (--group, --user, --printer, --force, --baud ...)

build: compiles MicroPython's ports/esp32 with our C module (firmware/cmodules)
  --idf DIR          ESP-IDF checkout (default: $IDF_PATH)
  --micropython DIR  MicroPython checkout (default: $MICROPY_DIR)
  writes out/firmware/BOARD.bin and prints its path

Environment: SRP_IOT_STATION (station database, default out/station.db),
SRP_IOT_OUT (output directory, default out).
EOF2
}

# ---- first run: install what is missing --------------------------------------
need_bootstrap() {
  [ -x .venv/bin/python ] || return 0
  .venv/bin/python -c 'import host_tools.cli, esptool, littlefs, segno' 2>/dev/null || return 0
  [ -x boards/sim/bin/micropython ] || return 0
  return 1
}
if need_bootstrap; then
  say "first run on this machine: installing packages, .venv and the MicroPython builds (tools/bootstrap)"
  tools/bootstrap
fi
srp_iot() { .venv/bin/python -m host_tools "$@"; }

mode=flash
if [ "${1:-}" = build ]; then mode=build; shift; fi
board="" port="" firmware="" cups="" tcp="" boot=1 verify=1 sim_ports=() idf="${IDF_PATH:-}" mpdir="${MICROPY_DIR:-}"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --board) board=${2:?--board needs a value}; shift ;;
    --port) port=${2:?--port needs a value}; shift ;;
    --firmware) firmware=${2:?--firmware needs a value}; shift ;;
    --cups) cups=${2:?--cups needs a queue}; shift ;;
    --tcp) tcp=${2:?--tcp needs HOST[:PORT]}; shift ;;
    --no-boot) boot=0 ;;
    --no-verify) verify=0 ;;
    --https-port) sim_ports+=(--port "${2:?--https-port needs a port}"); shift ;;
    --http-port) sim_ports+=(--http-port "${2:?--http-port needs a port}"); shift ;;
    --idf) idf=${2:?--idf needs a directory}; shift ;;
    --micropython) mpdir=${2:?--micropython needs a directory}; shift ;;
    *) extra+=("$1") ;;
  esac
  shift
done
[ -n "$board" ] || { usage >&2; exit 2; }
[ -f "boards/$board.json" ] || { say "unknown board $board (known: $(cd boards && ls *.json | sed 's/\.json$//' | tr '\n' ' '))"; exit 3; }

# ---- build: custom ESP32 firmware with our C module ---------------------------
if [ "$mode" = build ]; then
  [ "$board" != sim ] || { say "the sim board's firmware is built by boards/sim/build_micropython"; exit 3; }
  if [ -z "$idf" ] || [ ! -f "$idf/export.sh" ]; then
    say "ESP-IDF not found (${idf:-IDF_PATH is not set})."
    say "  Install the ESP-IDF version MicroPython's ports/esp32/README.md names, then"
    say "  pass --idf DIR or export IDF_PATH=DIR (the directory holding export.sh)."
    exit 7
  fi
  if [ -z "$mpdir" ] || [ ! -f "$mpdir/ports/esp32/Makefile" ]; then
    say "MicroPython checkout not found (${mpdir:-MICROPY_DIR is not set})."
    say "  Clone MicroPython (tag v1.25.0, with its submodules for ports/esp32), then"
    say "  pass --micropython DIR or export MICROPY_DIR=DIR."
    exit 7
  fi
  cmod="$repo/firmware/cmodules/srpmodexp/micropython.cmake"
  [ -f "$cmod" ] || { say "missing $cmod"; exit 7; }
  say "building MicroPython for $board with $cmod (this takes minutes)"
  # shellcheck disable=SC1091
  . "$idf/export.sh" >/dev/null
  make -C "$mpdir/ports/esp32" BOARD="$board" USER_C_MODULES="$cmod" submodules all
  mkdir -p out/firmware
  cp "$mpdir/ports/esp32/build-$board/firmware.bin" "out/firmware/$board.bin"
  say "firmware: out/firmware/$board.bin"
  echo "out/firmware/$board.bin"
  exit 0
fi

out=${SRP_IOT_OUT:-out}
station=${SRP_IOT_STATION:-$out/station.db}
export SRP_IOT_OUT="$out" SRP_IOT_STATION="$station"
abs() { case "$1" in /*) echo "$1" ;; *) echo "$repo/$1" ;; esac; }
# ---- sim: provision, label, image, boot on 127.0.0.1 -------------------------
if [ "$board" = sim ]; then
  id=$(srp_iot flash --board sim ${extra[@]+"${extra[@]}"})
  ddir="$out/devices/$id"
  say "device $id"
  say "label:  $ddir/label.png   (ZPL: $ddir/label.zpl)"
  say "image:  $ddir/fs.img"
  [ "$boot" = 1 ] || exit 0
  log="$ddir/serve.log"
  fifo=$(mktemp -u); mkfifo "$fifo"
  # The sim board boots the very image a real board would get (boards/sim/device.py).
  boards/sim/bin/micropython boards/sim/device.py --image "$ddir/fs.img" ${sim_ports[@]+"${sim_ports[@]}"} >"$fifo" 2>"$log" &
  server=$!
  trap 'kill "$server" 2>/dev/null; rm -f "$fifo"' EXIT
  trap 'exit 130' INT TERM
  listen=""
  exec 3<"$fifo"
  while IFS= read -r -t 60 line <&3; do
    case "$line" in listening\ port=*) listen=${line#listening port=}; break ;; esac
  done
  if [ -z "$listen" ]; then
    say "the sim device did not start; its log ($log):"
    tail -n 20 "$log" >&2
    exit 4
  fi
  user=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["user"])' "$ddir/factory_credential.json")
  say "device $id is listening on https://127.0.0.1:$listen (TLS-SRP)"
  echo "label: $(abs "$ddir")/label.png"
  # The password goes to curl as a config on stdin (read off the label's QR
  # code), never on a command line.
  echo "$repo/.venv/bin/python -m host_tools label --station $(abs "$station") --out $(abs "$out") --device-id $id --curl-config | curl -k -K - --tlsauthtype SRP --tlsuser $user https://127.0.0.1:$listen/"
  say "Ctrl-C stops the device"
  cat <&3 >/dev/null &            # drain its stdout; `wait` below stays interruptible
  set +e
  wait "$server"
  rc=$?
  set -e
  exit $rc
fi

# ---- a real board --------------------------------------------------------------
[ -n "$port" ] || { say "--port is required for $board"; exit 3; }
[ -n "$firmware" ] || { say "--firmware is required for $board (or build one: ./flash.sh build --board $board)"; exit 3; }
id=$(srp_iot flash --board "$board" --port "$port" --firmware "$firmware" ${extra[@]+"${extra[@]}"})
if [ -n "$cups" ] || [ -n "$tcp" ]; then
  args=(); [ -n "$cups" ] && args+=(--cups "$cups"); [ -n "$tcp" ] && args+=(--tcp "$tcp")
  srp_iot label --device-id "$id" "${args[@]}" >/dev/null
fi
if [ "$verify" = 0 ]; then
  echo "label: $(abs "$out")/devices/$id/label.png"
  exit 0
fi
say "waiting for $id to boot, then reading its identity back"
for try in 1 2 3; do
  if srp_iot verify --port "$port" --device-id "$id" >/dev/null; then
    echo "label: $(abs "$out")/devices/$id/label.png"
    exit 0
  fi
  sleep 3
done
say "$id was flashed but did not answer on $port; run: .venv/bin/python -m host_tools verify --port $port"
exit 5
