"""The computation graph drawn with matplotlib, so that it becomes a PNG without Graphviz.

The layout is by layers: the loss on the right, each op one column left of the op that uses its result
(the longest path decides), the leaves in the last column that any of their users needs.  Ops are blue
boxes, trainable leaves yellow ovals, constants white ovals; arrows run from inputs to the op using them.
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from tinyae.plots._common import PathLike, finish, new_figure
from tinyae.plots.graph import graph_nodes
from tinyae.tensor import Tensor

__all__ = ["graph_figure"]


def _columns(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Distance of each node from the root along the longest path (the root is 0)."""
    depth = dict.fromkeys(ids, 0)
    users: dict[str, list[str]] = {}
    for source, target in edges:
        users.setdefault(source, []).append(target)
    for _ in range(len(ids)):  # longest paths in a DAG settle in at most len(ids) rounds
        changed = False
        for source, targets in users.items():
            want = max(depth[t] for t in targets) + 1
            if want > depth[source]:
                depth[source], changed = want, True
        if not changed:
            break
    return depth


def graph_figure(
    tensor: Tensor, path: PathLike | None = None, names: Mapping[str, Tensor] | None = None
) -> Figure:
    """The graph that produced ``tensor`` (the same nodes as :func:`~tinyae.plots.graph`) as a figure.

    Examples
    --------
    >>> import tinyae
    >>> x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    >>> fig = graph_figure((x * x).sum(), names={"x": x})
    >>> sorted(t.get_text().split("\\n")[0] for t in fig.axes[0].texts if t.get_text())
    ['Mul', 'Sum', 'x']
    """
    nodes, edges = graph_nodes(tensor, names)
    depth = _columns([n.id for n in nodes], edges)
    last = max(depth.values())
    rows: dict[int, list[str]] = {}
    for node in nodes:
        rows.setdefault(depth[node.id], []).append(node.id)
    tallest = max(len(r) for r in rows.values())
    where = {}
    for column, members in rows.items():
        for k, node_id in enumerate(members):
            # centred in its column; every other column a little lower, so that no arrow runs through a box
            where[node_id] = (last - column, (len(members) - 1) / 2 - k - 0.3 * (column % 2))
    fig = new_figure(max(2.2 * (last + 1), 4.0), max(1.1 * tallest, 2.0))
    ax = fig.add_subplot()
    ax.set_axis_off()
    for source, target in edges:
        span = where[target][0] - where[source][0]
        bend = 0.0 if span <= 1 else -0.4 / span  # an arrow that skips columns arcs over the boxes between
        style = {"arrowstyle": "-|>", "color": "#555555", "shrinkA": 28, "shrinkB": 28}
        ax.annotate(
            "",
            xy=where[target],
            xytext=where[source],
            arrowprops={**style, "connectionstyle": f"arc3,rad={bend}"},
        )
    for node in nodes:
        if node.kind == "op":
            box = {
                "boxstyle": "round,pad=0.4",
                "facecolor": "#cfe2f3",
                "linewidth": 2.0 if node.root else 1.0,
            }
        else:
            box = {"boxstyle": "ellipse,pad=0.3", "facecolor": "#fff2cc" if node.trainable else "white"}
        ax.text(*where[node.id], node.label, ha="center", va="center", fontsize=8, bbox=box)
    ax.set_xlim(-0.6, last + 0.6)
    ax.set_ylim(-(tallest - 1) / 2 - 0.9, (tallest - 1) / 2 + 0.6)
    ax.set_title("computation graph: inputs on the left, the result on the right", fontsize=9)
    return finish(fig, path)
