"""The host events of an XPlane trace, the file TensorFlow's and JAX's profilers write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Event:
    """One traced event on the host: its name, the thread (line) it ran on, its start and
    end in picoseconds from the trace's start, and its statistics (name to value)."""

    name: str
    line: str
    start_ps: int
    end_ps: int
    stats: dict

    @property
    def ms(self) -> float:
        return (self.end_ps - self.start_ps) / 1e9


def host_events(trace_dir: Path) -> list[Event]:
    """Every event of the `/host:CPU` plane in the one `*.xplane.pb` under `trace_dir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    files = sorted(Path(trace_dir).rglob("*.xplane.pb"))
    if len(files) != 1:
        raise RuntimeError(f"expected one *.xplane.pb under {trace_dir}, found {len(files)}")
    space = xplane_pb2.XSpace()
    space.ParseFromString(files[0].read_bytes())
    events = []
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        names = {key: meta.name for key, meta in plane.stat_metadata.items()}
        for line in plane.lines:
            origin_ps = line.timestamp_ns * 1000
            for event in line.events:
                meta = plane.event_metadata[event.metadata_id]
                stats = {names[s.metadata_id]: value(s, names) for s in [*meta.stats, *event.stats]}
                start = origin_ps + event.offset_ps
                events.append(Event(meta.name, line.name, start, start + event.duration_ps, stats))
    return events


def value(stat, names: dict[int, str]):
    """A statistic's value; a reference to a name is that name."""
    if stat.HasField("ref_value"):
        return names.get(stat.ref_value)
    kind = stat.WhichOneof("value")
    return getattr(stat, kind) if kind else None
