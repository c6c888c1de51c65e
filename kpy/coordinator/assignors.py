"""Server-side assignors of KIP-848 consumer groups, and set arithmetic on assignments.

Pure functions: each takes the members' subscribed topics, the partition counts of those
topics and the current assignment, and returns the target assignment.
"""

from __future__ import annotations

Assignment = dict[str, set[int]]  # topic name -> partitions


def copy_assignment(a: Assignment) -> Assignment:
    return {t: set(ps) for t, ps in a.items() if ps}


def minus(a: Assignment, b: Assignment) -> Assignment:
    return {t: ps - b.get(t, set()) for t, ps in a.items() if ps - b.get(t, set())}


def intersect(a: Assignment, b: Assignment) -> Assignment:
    return {t: ps & b.get(t, set()) for t, ps in a.items() if ps & b.get(t, set())}


def uniform_assign(
    members: dict[str, set[str]], partitions: dict[str, int], current: dict[str, Assignment]
) -> dict[str, Assignment]:
    """Spread partitions evenly over the members subscribed to them, keeping a partition
    with its current owner while that owner is not above its share."""
    result: dict[str, Assignment] = {m: {} for m in members}
    if not members:
        return result
    count = dict.fromkeys(members, 0)
    total = sum(n for t, n in partitions.items() if any(t in s for s in members.values()))
    cap = -(-total // len(members))
    owner = {
        (t, p): m for m, a in current.items() if m in members for t, ps in a.items() for p in ps
    }
    todo = []
    for t in sorted(partitions):
        for p in range(partitions[t]):
            m = owner.get((t, p))
            if m is not None and t in members[m] and count[m] < cap:
                result[m].setdefault(t, set()).add(p)
                count[m] += 1
            else:
                todo.append((t, p))
    for t, p in todo:
        subscribed = [m for m in sorted(members) if t in members[m]]
        if not subscribed:
            continue
        m = min(subscribed, key=lambda x: count[x])
        result[m].setdefault(t, set()).add(p)
        count[m] += 1
    return result


def range_assign(
    members: dict[str, set[str]], partitions: dict[str, int], current: dict[str, Assignment]
) -> dict[str, Assignment]:
    """Per topic, contiguous ranges of partitions to the subscribed members in id order."""
    result: dict[str, Assignment] = {m: {} for m in members}
    for t in sorted(partitions):
        subscribed = sorted(m for m in members if t in members[m])
        if not subscribed:
            continue
        n = partitions[t]
        per, extra = divmod(n, len(subscribed))
        start = 0
        for i, m in enumerate(subscribed):
            size = per + (1 if i < extra else 0)
            if size:
                result[m][t] = set(range(start, start + size))
            start += size
    return result


ASSIGN = {"uniform": uniform_assign, "range": range_assign}
