"""The C library's heap thresholds for the test programs the runner starts:
fixed, and the same on every side of a comparison.

glibc adjusts two thresholds as a process runs: an allocation at or above
the mmap threshold (128 KiB at start) gets its own mapping, and free space
above the trim threshold at the top of the main heap is given back to the
kernel. Freeing a mapped chunk raises both (mmap to the chunk's size, up to
32 MiB; trim to twice that). Where the driver's memory comes from therefore
changes how often the *test's own* buffers are faulted in again:

- lavapipe alone malloc()s every VkDeviceMemory. Its frees raise the
  thresholds early and its live allocations sit in the same heap, above the
  test's buffers, so the heap's top is rarely free and rarely trimmed.
- The wsys ICD's memory is GEM objects (memfds in the model's VM window),
  not malloc. The heap holds the test's buffers alone: dEQP-VK's mapping
  cases free tens of MiB of reference buffers at the top of it after each
  case, glibc trims it, and the next case faults every page in again;
  buffers above the (unraised) mmap threshold are mapped, faulted in and
  unmapped one by one.

Measured on dEQP-VK.memory.mapping.suballocation.* (1622 cases in one
process, perf stat): lavapipe 1.49 M page faults, wsys on sim:panthor
4.25 M; on a fifth of it, 33 k of wsys's 808 k faults were in the VM window
and 732 k in deqp's own heap and anonymous mappings. With the thresholds
fixed as below: lavapipe 1.11 M, sim:panthor 278 k. A fixed trim threshold
of 64 MiB (the ceiling of glibc's own adjustment) is not enough: those
cases free more than that at once (sim:panthor 811 k on the fifth).

So the runner fixes them, for every side alike, at the ceiling of glibc's
own adjustment for the mmap threshold and a trim threshold no case reaches:
a batch process keeps the heap it grew. That is a few hundred MiB at most
for deqp-vk's memory groups, and the process ends with its batch. Timing
then compares the drivers, not where glibc's heuristics end up. A user's
own GLIBC_TUNABLES settings for either threshold are kept.
"""

MMAP_THRESHOLD = "glibc.malloc.mmap_threshold"
TRIM_THRESHOLD = "glibc.malloc.trim_threshold"
PINNED = ((MMAP_THRESHOLD, 32 << 20), (TRIM_THRESHOLD, 1 << 30))


def pin(env):
    """Adds the fixed thresholds to env's GLIBC_TUNABLES (a colon-separated
    name=value list) unless it names them already; returns env."""
    have = env.get("GLIBC_TUNABLES", "")
    items = [t for t in have.split(":") if t]
    names = {t.split("=", 1)[0] for t in items}
    items += ["%s=%d" % (n, v) for n, v in PINNED if n not in names]
    env["GLIBC_TUNABLES"] = ":".join(items)
    return env
