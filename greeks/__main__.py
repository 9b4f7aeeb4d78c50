from greeks.cli import main

main(prog_name="greeks")
