"""ESP32 handshake time, estimated on paper from measured instruction counts.

    .venv/bin/python tests/bench/esp32_estimate.py BENCH_OUTPUT
    (BENCH_OUTPUT: a file holding tests/bench/handshake_cost's lines)

This is an ESTIMATE, not a measurement: no board was used.  Model (README
"ESP32 estimate (on paper)" explains and cites the figures):

  * instructions: callgrind counts of the 32-bit unix build (the ESP32
    proxy) per full server handshake, per backend, and for `memo` (the
    handshake with its exponentiations removed);
  * cycles per counted instruction on the ESP32's Xtensa LX6: between
    CPI_LOW and CPI_HIGH (single-issue in-order core, code run from flash
    through a cache);  ESP32-C3 (RV32IMC): the same, scaled by the CoreMark
    per MHz of the two cores;
  * online part: b and g^b are prepared in idle time, so a client waits
    for the exponentiations with 160 + 256 of the 672 exponent bits;
  * RSA accelerator (the `c` backend handing its work to mbedTLS): 1.5
    modular multiplications per exponent bit, each taking the published
    time for a 2048-bit operand, scaled by (bits / 2048)^2.
Prints key=value lines.
"""
import re
import sys

CPI_LOW, CPI_HIGH = 1.0, 2.0
CHIPS = {
    # name: (clock Hz, CoreMark per MHz of one core, 2048-bit modmult seconds)
    "esp32": (240e6, 2.06, 19e-6),
    "esp32c3": (160e6, 2.55, 108e-6),
}
EXP_BITS_FULL = 256 + 160 + 256     # g^b, v^u, (A v^u)^b
EXP_BITS_ONLINE = 160 + 256


def load(path):
    instr = {}
    for line in open(path):
        m = re.match(r"handshake_cost build=32 backend=(\w+) bits=(\d+) .*instructions=(\d+)", line)
        if m:
            instr[(m.group(1), int(m.group(2)))] = int(m.group(3))
    return instr


def seconds(n_instr, chip, cpi):
    hz, cm_mhz, _ = CHIPS[chip]
    return n_instr * cpi * (CHIPS["esp32"][1] / cm_mhz) / hz


def main(path):
    instr = load(path)
    bits_list = sorted({b for (_, b) in instr})
    for chip in CHIPS:
        for bits in bits_list:
            rest = instr.get(("memo", bits))
            if rest is None:
                continue
            for backend in ("c", "viper", "pow"):
                total = instr.get((backend, bits))
                if total is None:
                    continue
                modexp = total - rest
                online = rest + modexp * EXP_BITS_ONLINE / EXP_BITS_FULL
                print("esp32_estimate chip=%s backend=%s bits=%d full_s=%.2f-%.2f online_s=%.2f-%.2f"
                      % (chip, backend, bits, seconds(total, chip, CPI_LOW),
                         seconds(total, chip, CPI_HIGH), seconds(online, chip, CPI_LOW),
                         seconds(online, chip, CPI_HIGH)))
            mm = CHIPS[chip][2] * (bits / 2048.0) ** 2
            for name, ebits in (("full", EXP_BITS_FULL), ("online", EXP_BITS_ONLINE)):
                hw = 1.5 * ebits * mm
                print("esp32_estimate chip=%s backend=c-rsa-accelerator bits=%d part=%s "
                      "modexp_ms=%.0f total_ms=%.0f-%.0f"
                      % (chip, bits, name, hw * 1e3, (hw + seconds(rest, chip, CPI_LOW)) * 1e3,
                         (hw + seconds(rest, chip, CPI_HIGH)) * 1e3))


if __name__ == "__main__":
    main(sys.argv[1])
