from benchmarks.processes import simulator
from benchmarks.raw_client import blast
with simulator("healthy") as port:
    for _ in range(3):
        r = blast("127.0.0.1", port, 100000, 256, registered_delivery=1, wait_receipts=True)
        print("raw+receipts", round(r.acked / r.elapsed_s), r.receipts)
