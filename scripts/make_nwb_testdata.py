#!/usr/bin/env python3
"""Write the small NWB test files used by spikepop-spikes' NWB reader tests.

Produces, next to the other reader test data (crates/spikes/tests/data/nwb/):

- units.nwb: an NWB 2 file whose `units` table holds four units with known spike times (seconds):
  id 1: tonic, 10, 110, ..., 710 ms; id 2: four bursts of four spikes 5 ms apart starting at 20, 220, 420
  and 620 ms; id 3: two spikes (50 and 400 ms); id 4: no spike at all.
  Units 1 to 3 hold the same spikes as the reference, long, text and phy test files, so that every reader can
  be checked to give the same trains.
- truncated.nwb: the first half of units.nwb, for the malformed-file test.

Usage (from the repository root): pip install pynwb && python3 scripts/make_nwb_testdata.py
"""

from datetime import datetime, timezone
from pathlib import Path

from pynwb import NWBHDF5IO, NWBFile

OUT = Path(__file__).resolve().parent.parent / "crates" / "spikes" / "tests" / "data" / "nwb"

TONIC_MS = [10.0 + 100.0 * i for i in range(8)]
BURSTING_MS = [onset + 5.0 * k for onset in (20.0, 220.0, 420.0, 620.0) for k in range(4)]
SILENT_MS = [50.0, 400.0]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    nwb = NWBFile(
        session_description="spikepop NWB reader test data",
        identifier="spikepop-spikes-test-units",
        session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )
    for unit_id, times_ms in ((1, TONIC_MS), (2, BURSTING_MS), (3, SILENT_MS), (4, [])):
        nwb.add_unit(id=unit_id, spike_times=[t / 1000.0 for t in times_ms])
    path = OUT / "units.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb, cache_spec=False)
    data = path.read_bytes()
    (OUT / "truncated.nwb").write_bytes(data[: len(data) // 2])
    print(f"wrote {path} ({len(data)} bytes) and truncated.nwb ({len(data) // 2} bytes)")


if __name__ == "__main__":
    main()
