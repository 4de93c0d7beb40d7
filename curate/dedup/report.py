"""Terminal output of ``curate dedup``: the summary and groups side by side."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from curate import names
from curate.dedup.search import RECALL_SAMPLE
from curate.dedup.stage import DedupResult, group_members
from curate.prompts import describe
from curate.store import Store

TEXT_CHARS = 300


def conversation_preview(messages: list[dict], limit: int = TEXT_CHARS) -> str:
    text = " / ".join(
        f"{m['role'][0].upper()}: {m['content'].strip()}" for m in messages if m["role"] != "system"
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_summary(store: Store, result: DedupResult, console: Console) -> None:
    search = result.search
    table = Table(title=f"dedup of {store.root}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("conversations", f"{result.rows:,}")
    table.add_row("near-duplicate pairs", f"{result.pairs:,}")
    table.add_row("groups (2+ members)", f"{result.groups:,}")
    table.add_row(
        "dropped", f"{result.dropped:,} ({100 * result.dropped / max(result.rows, 1):.1f}%)"
    )
    table.add_row("kept", f"{result.rows - result.dropped:,}")
    if result.prompts:
        pool, kept = result.prompts["pool"], result.prompts["kept"]
        table.add_row("prompt groups", describe(pool))
        table.add_row(
            "kept per prompt",
            f"{describe(kept)}; {kept['prompts_with_several']:,} prompts keep several answers "
            "(select --per-prompt keeps the best)",
        )
        table.add_row(
            "groups across prompts",
            f"{result.prompts['groups_across_prompts']:,} groups join near-identical prompts "
            "(other wording, language or script)",
        )
    table.add_row("keep rule", result.keep_rule)
    method = search.get("method", "?")
    if search.get("cells"):
        method += f" ({search['cells']:,} cells, nprobe {search.get('nprobe')})"
    if "recall_pairs" in search:
        recall = search.get("recall_vs_exact")
        method += "; recall vs exact " + (
            f"{recall:.4f} on the {search['recall_pairs']:,} exact pairs of {RECALL_SAMPLE:,} sampled queries"
            if recall is not None
            else "not measurable (no pair in the sampled queries)"
        )
    table.add_row("search", f"{method}, on {search.get('device', 'cpu')}")
    if search.get("method", "").startswith("faiss"):
        table.add_row(
            "saturation",
            f"{search.get('escalated', 0):,} queries searched again with a larger k, "
            f"{search.get('saturated', 0):,} still saturated at k=1024",
        )
    table.add_row(
        "time", f"{result.wall_seconds:.1f} s (search {search.get('search_seconds', 0):.1f} s)"
    )
    console.print(table)
    if result.already_done:
        console.print(
            "[yellow]already computed with these options: nothing to do (use --overwrite to recompute)[/]"
        )
    largest = result.largest[:5]
    if largest:
        members = group_members(store, [g["kept"] for g in largest])
        groups = Table(title="largest groups", title_justify="left")
        groups.add_column("size", justify="right")
        groups.add_column("kept", overflow="fold")
        groups.add_column("a dropped member (similarity)", overflow="fold")
        for g in largest:
            rows = members[g["kept"]]
            kept, dropped = rows[0], rows[1] if len(rows) > 1 else None
            groups.add_row(
                str(g["size"]),
                conversation_preview(kept["messages"], 160),
                f"{conversation_preview(dropped['messages'], 160)} ({dropped['dup_similarity']:.3f})"
                if dropped
                else "",
            )
        console.print(groups)


def render_groups(store: Store, n: int, console: Console) -> None:
    """The ``n`` largest groups: the kept member beside each dropped one."""
    manifest = store.manifest(names.manifest_name(names.DEDUP)) or {}
    largest = manifest.get("largest", [])[:n]
    if len(largest) < n:
        table = store.read_sidecar(names.DEDUP).select(["dup_group", "dup_group_size"])
        sizes = {}
        for gid, size in zip(
            table.column("dup_group").to_pylist(), table.column("dup_group_size").to_pylist()
        ):
            if size > 1:
                sizes[gid] = size
        largest = [
            {"kept": g, "size": s}
            for g, s in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        ]
    if not largest:
        console.print("no near-duplicate groups")
        return
    members = group_members(store, [g["kept"] for g in largest])
    for number, g in enumerate(largest, 1):
        rows = members[g["kept"]]
        table = Table(
            title=f"group {number}: {g['size']} conversations, kept {g['kept']}",
            title_justify="left",
            show_lines=True,
        )
        table.add_column("kept", overflow="fold", ratio=1)
        table.add_column("near-duplicate", overflow="fold", ratio=1)
        table.add_column("similarity", justify="right")
        kept = conversation_preview(rows[0]["messages"])
        for i, row in enumerate(rows[1:]):
            table.add_row(
                kept if i == 0 else "",
                conversation_preview(row["messages"]),
                f"{row['dup_similarity']:.3f}",
            )
        console.print(table)
