"""Medians read from bucketed counts, as the rollups keep durations."""


def median_bucket(counts: dict[int, int]) -> int | None:
    """Lower bound of the bucket where the running count reaches half the total (None: empty).

    With an even total this is the lower of the two middle values' buckets.
    """
    total = sum(counts.values())
    if total <= 0:
        return None
    running = 0
    for bucket in sorted(counts):
        running += counts[bucket]
        if 2 * running >= total:
            return bucket
    return None  # unreachable: the running count ends at the total
