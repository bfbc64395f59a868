"""`python -m host_tools ...` runs the srp-iot command line."""
from host_tools.cli import main

main(prog_name="srp-iot")
