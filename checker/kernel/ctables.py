"""The generated C's constant tables: the layout's offsets and sizes, the
field domains, and the label templates a step's label is rendered from
(codegen.py writes the functions that use them)."""

from __future__ import annotations

from checker.smt.expr import BOOL, INT
from checker.smt.relation import Relation
from model.machine import MACRO_BOUNDARY, MACRO_LIMIT
from model.pcs import PC
from model.state import NONE


def c_string(s: str) -> str:
    out = []
    for ch in s.encode():
        if ch in (0x22, 0x5C):
            out.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7F and ch != 0x3F:  # '?' escaped: no trigraphs
            out.append(chr(ch))
        else:
            out.append(f"\\{ch:03o}")
    return '"' + "".join(out) + '"'


def domain_tables(rel: Relation) -> list[str]:
    """One 256-bit set per byte of the state: the values its type admits."""
    rows = []
    for d in rel.domains:
        words = [0, 0, 0, 0]
        for c in d:
            if 0 <= c < 256:
                words[c >> 6] |= 1 << (c & 63)
        rows.append("{" + ", ".join(f"0x{w:016x}ULL" for w in words) + "}")
    return [f"static const uint64_t DOMAIN[{len(rows)}][4] = {{", ",\n".join(rows), "};"]


def layout_defines(model) -> list[str]:
    from model.symmetry import GREF, MASK, PREF, Symmetry

    L = model.L
    sym = Symmetry(L)
    lines = [
        f"#define SIZE {L.size}",
        f"#define NA {L.nA}",
        f"#define NM {L.nM}",
        f"#define NP {L.nP}",
        f"#define NG {L.nG}",
        f"#define PW {L.P_WIDTH}",
        f"#define AW {L.A_WIDTH}",
        f"#define BB {L.B}",
        f"#define G_BASE {L.g_base}",
        f"#define P_BASE {L.p_base}",
        f"#define A_BASE {L.a_base}",
        f"#define PIDLE {L.pidle}",
        f"#define MIDLE {L.midle}",
        f"#define THROW {L.throw}",
        f"#define PC_NOT_CREATED {int(PC.NOT_CREATED)}",
        f"#define MACRO_LIMIT {MACRO_LIMIT}",
        f"#define NONE_ID {NONE}",
    ]
    # An M's block (model/state.py): plain fields, the P mask, its G
    # references, then its P references, each a run the canonical form reads.
    a0 = sym.a_start[0]
    block = sym.kind[a0 : a0 + L.A_WIDTH]
    for name, kind in (("A_GREF", GREF), ("A_PREF", PREF), ("A_MASK", MASK)):
        at = [i for i, k in enumerate(block) if k == kind]
        if at != list(range(at[0], at[0] + len(at))):
            raise ValueError(f"an M's {name} fields are not contiguous")
        lines += [f"#define {name}_LO {at[0]}", f"#define {name}_N {len(at)}"]
    kinds = ", ".join(str(k) for k in sym.kind)
    lines.append(f"static const uint8_t KIND[SIZE] = {{{kinds}}};")
    grefs = sorted(sym.g_ref_offsets)
    lines.append(f"#define NGREF {len(grefs)}")
    lines.append(f"static const int GREF_OFF[NGREF] = {{{', '.join(map(str, grefs))}}};")
    # A variant's sched fields that name an M: that M is not "unborn" (symmetry).
    xm = sym.extra_mref
    lines.append(f"#define NXMREF {len(xm)}")
    lines.append(
        f"static const int XMREF_OFF[{max(1, len(xm))}] = {{{', '.join(map(str, xm)) or '0'}}};"
    )
    pcs = ", ".join(str(L.pc[a]) for a in range(L.nA))
    lines.append(f"static const int PC_OFF[NA] = {{{pcs}}};")
    words = [0, 0, 0, 0]
    for pc in MACRO_BOUNDARY:
        words[pc >> 6] |= 1 << (pc & 63)
    lines.append(
        "static const uint64_t MACRO_BOUNDARY[4] = {"
        + ", ".join(f"0x{w:016x}ULL" for w in words)
        + "};"
    )
    return lines


def label_tables(rel: Relation, cmd_ids: dict[int, int]) -> tuple[list[str], int]:
    """Each step command's label template, as parts to render."""
    tables: dict[tuple, int] = {}
    parts_rows, desc_rows = [], []
    max_vals = 0
    part_index = 0
    for c in rel.steps:
        pieces = c.label.split("\x00")
        lits = pieces[0::2]
        holes = pieces[1::2]
        kinds = []
        for h in holes:
            _, kind = c.exprs[int(h)]
            if kind == INT:
                kinds.append(-1)
            elif kind == BOOL:
                kinds.append(-2)
            else:
                names = tuple(str(n) for n in kind)
                kinds.append(tables.setdefault(names, len(tables)))
        max_vals = max(max_vals, len(holes))
        desc_rows.append(f"{{{part_index}, {len(holes)}}}")
        for i, lit in enumerate(lits):
            hole_kind = kinds[i] if i < len(kinds) else -3
            parts_rows.append(f"{{{c_string(lit)}, {hole_kind}}}")
        part_index += len(lits)
    lines = ["typedef struct { const char *lit; int hole; } label_part_t;"]
    lines.append(f"static const label_part_t LABEL_PARTS[{max(1, part_index)}] = {{")
    lines.append(",\n".join(parts_rows) or '{"", -3}')
    lines.append("};")
    lines.append(f"static const int LABEL_DESC[{max(1, len(desc_rows))}][2] = {{")
    lines.append(",\n".join(desc_rows) or "{0, 0}")
    lines.append("};")
    for names, tid in sorted(tables.items(), key=lambda kv: kv[1]):
        body = ", ".join(c_string(n) for n in names)
        lines.append(f"static const char *const NAMES{tid}[{len(names)}] = {{{body}}};")
    lines.append(f"#define N_NAME_TABLES {len(tables)}")
    lines.append(
        "static const char *const *const NAME_TABLES[] = {"
        + ", ".join(f"NAMES{t}" for t in range(len(tables)))
        + ("" if tables else "0")
        + "};"
    )
    lines.append(
        "static const int NAME_TABLE_LEN[] = {"
        + ", ".join(str(len(n)) for n in sorted(tables, key=lambda name: tables[name]))
        + ("" if tables else "0")
        + "};"
    )
    return lines, max_vals
