"""Reads a run's TensorBoard event files with TensorBoard's own reader
(EventAccumulator, every event kept) and prints them as JSON:
{"scalars": {tag: [[step, value], ...]}, "text": {tag: [string, ...]}}."""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
tags = acc.Tags()
out = {"scalars": {}, "text": {}}
for tag in tags["scalars"]:
    out["scalars"][tag] = [[e.step, e.value] for e in acc.Scalars(tag)]
for tag in tags["tensors"]:
    out["text"][tag] = [b.decode() for e in acc.Tensors(tag) for b in e.tensor_proto.string_val]
json.dump(out, sys.stdout)
