"""People's names on the kiosk's pages: whole, or (for children's privacy) only the given
name.

A school may not want a child's full name on a screen others can see (the next child
in the queue, a parent at the door). With ``[kiosk] given_names_only = true`` the
kiosk's pages say "晨曦，你好！" and "Emma" where they said "张晨曦" and "Emma Brown";
the librarian's screens, the desk and printed cards keep full names.

Chinese names put the family name first (one character, or two for the compound
family names below); names in Latin letters put it last, or first before a comma
("Brown, Emma"). A name that cannot be shortened (one character or word) stays whole.
"""

from __future__ import annotations

COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 "
    "端木 独孤 南宫 西门 百里 呼延 东郭 万俟 闻人 澹台 公冶 申屠 太史 濮阳 淳于 单于 "
    "赫连 拓跋 完颜 司空 亓官 司寇 仉督 子车 颛孙 巫马 公西 漆雕 乐正 壤驷 公良 谷梁 "
    "宰父 梁丘 左丘 东门 第五".split()
)
"""Two-character Chinese family names."""

_given_only = False


def set_given_names_only(on: bool) -> None:
    """Show only given names on the kiosk's pages (``[kiosk] given_names_only``)."""
    global _given_only
    _given_only = on


def given_names_only() -> bool:
    """Whether the kiosk's pages show only given names."""
    return _given_only


def given_name(name: str) -> str:
    """The given name in ``name``: ``张晨曦`` -> ``晨曦``, ``欧阳小明`` -> ``小明``,
    ``Emma Brown`` -> ``Emma``, ``Brown, Emma`` -> ``Emma``."""
    name = name.strip()
    if "," in name or "，" in name:
        rest = name.replace("，", ",").split(",", 1)[1].strip()
        return rest.split()[0] if rest else name
    words = name.split()
    if len(words) > 1:
        return words[0]
    if name and all("\u3400" <= char <= "\u9fff" or char == "·" for char in name):
        if "·" in name:  # a transcribed foreign name (约翰·史密斯): its first part
            return name.split("·", 1)[0] or name
        cut = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[cut:] if len(name) > cut else name
    return name


def shown(name: str) -> str:
    """``name`` as the kiosk's pages show it (only the given name, when so set)."""
    return given_name(name) if _given_only and name else name
