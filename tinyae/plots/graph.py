"""The computation graph behind a tensor as Graphviz DOT text (render with ``dot -Tpng graph.dot``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from tinyae.backend import dtype_name
from tinyae.data.fileio import atomic_write
from tinyae.plots._common import PathLike
from tinyae.tensor import Context, Tensor

__all__ = ["GraphNode", "graph", "graph_nodes", "write_graph"]


def _quote(text: str) -> str:
    """A DOT string literal; ``\\n`` in ``text`` stays a line break in the label."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def graph(tensor: Tensor, names: Mapping[str, Tensor] | None = None) -> str:
    """Graphviz DOT text of the graph that produced ``tensor``: one box per op, one oval per leaf.

    Each op node is labelled with its op class and the shape it produced (the final one has a double
    border); each leaf with its shape, dtype and ``requires_grad`` (filled) or ``constant``, headed by
    its name when ``names`` (``{"W": W, ...}``) gives one.  Arrows run from inputs to the op that uses
    them; a tensor used twice sends two arrows.  Python numbers and absent inputs (a missing bias) are
    not drawn.  The walk is iterative, so a graph of any depth works; call it before ``backward()``,
    which frees the graph (or pass ``retain_graph=True`` to backward).

    Examples
    --------
    >>> import tinyae
    >>> x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    >>> print(graph((x * x).sum(), names={"x": x}), end="")
    digraph tinyae {
      node [fontname="Helvetica", fontsize=10];
      n0 [label="Sum\\n()", shape=box, style=filled, fillcolor="#cfe2f3", peripheries=2];
      n1 [label="Mul\\n(2,)", shape=box, style=filled, fillcolor="#cfe2f3"];
      n2 [label="x\\n(2,) float32\\nrequires_grad", shape=ellipse, style=filled, fillcolor="#fff2cc"];
      n1 -> n0;
      n2 -> n1;
      n2 -> n1;
    }
    """
    nodes, edges = graph_nodes(tensor, names)
    lines = ["digraph tinyae {", '  node [fontname="Helvetica", fontsize=10];']
    for node in nodes:
        if node.kind == "leaf":
            fill = ', style=filled, fillcolor="#fff2cc"' if node.trainable else ""
            lines.append(f"  {node.id} [label={_quote(node.label)}, shape=ellipse{fill}];")
        else:
            border = ", peripheries=2" if node.root else ""
            style = f'shape=box, style=filled, fillcolor="#cfe2f3"{border}'
            lines.append(f"  {node.id} [label={_quote(node.label)}, {style}];")
    lines.extend(f"  {source} -> {target};" for source, target in edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphNode(NamedTuple):
    """One node of a drawn graph: an op (``kind="op"``) or a leaf tensor (``kind="leaf"``)."""

    id: str
    label: str
    kind: str
    trainable: bool  # a leaf that requires a gradient
    root: bool  # the op that made the tensor drawn


def graph_nodes(
    tensor: Tensor, names: Mapping[str, Tensor] | None = None
) -> tuple[list[GraphNode], list[tuple[str, str]]]:
    """The nodes (breadth first from ``tensor``) and the edges ``(input, op)`` of its graph."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph() needs a Tensor, not {type(tensor).__name__}")
    leaf_names = {id(t): name for name, t in (names or {}).items()}
    ids: dict[int, str] = {}  # id of an op's Context, or of a leaf tensor -> node id
    queue: deque[Context | Tensor] = deque()  # a node's inputs are the nodes that made them, or leaves

    def node_id(item: Context | Tensor) -> str:
        if isinstance(item, Tensor) and item.node is not None:
            item = item.node
        if id(item) not in ids:
            ids[id(item)] = f"n{len(ids)}"
            queue.append(item)
        return ids[id(item)]

    nodes: list[GraphNode] = []
    edges: list[tuple[str, str]] = []
    node_id(tensor)
    while queue:
        item = queue.popleft()
        me = ids[id(item)]
        if isinstance(item, Tensor):  # a leaf (the root too, when it is one)
            label = f"{_shape(item.shape)} {dtype_name(item.dtype)}\n" + (
                "requires_grad" if item.requires_grad else "constant"
            )
            if id(item) in leaf_names:
                label = f"{leaf_names[id(item)]}\n{label}"
            nodes.append(GraphNode(me, label, "leaf", item.requires_grad, False))
            continue
        if item.released:
            raise ValueError(
                f"the graph through {item.op.__name__} was freed by backward(); call graph() before "
                "backward(), or call backward(retain_graph=True)"
            )
        label = f"{item.op.__name__}\n{_shape(item.out_shape)}"
        nodes.append(GraphNode(me, label, "op", False, item is tensor.node))
        edges.extend((node_id(source), me) for source in item.inputs if source is not None)
    return nodes, edges


def write_graph(tensor: Tensor, path: PathLike, names: Mapping[str, Tensor] | None = None) -> Path:
    """Write :func:`graph` of ``tensor`` to ``path`` (UTF-8, atomically) and return the path.

    Examples
    --------
    >>> import tempfile, pathlib, tinyae
    >>> x = tinyae.tensor([1.0], requires_grad=True)
    >>> out = write_graph(x * 2.0, pathlib.Path(tempfile.mkdtemp()) / "graph.dot")
    >>> out.read_text().splitlines()[0]
    'digraph tinyae {'
    """
    target = Path(path)
    with atomic_write(target) as handle:
        handle.write(graph(tensor, names).encode("utf-8"))
    return target
