import subprocess, sys, os, time
from benchmarks.processes import simulator
from benchmarks.raw_client import blast
with simulator("healthy") as port:
    blast("127.0.0.1", port, 20000, 256, registered_delivery=1, wait_receipts=True)
    pid = int(subprocess.check_output(["pgrep", "-f", "smpp_engine sim"]).split()[0])
    spy = subprocess.Popen([".venv/bin/py-spy", "record", "-r", "1000", "-f", "raw", "-o", "/tmp/sim.txt", "--pid", str(pid)], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    time.sleep(1)
    for _ in range(2):
        r = blast("127.0.0.1", port, 100000, 256, registered_delivery=1, wait_receipts=True)
        print("raw+receipts", round(r.acked / r.elapsed_s), r.receipts)
    spy.send_signal(2); spy.wait()
