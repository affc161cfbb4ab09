"""The demo school's fixed facts: its name, sizes, PIN and the names its people get."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


DEMO_PIN = "2468"
"""The demo librarian's PIN: with their card it opens the librarian screen."""

DEMO_LIBRARIAN = "L0001"
"""The patron number of the demo's librarian (the first row of the exported codes)."""

LIBRARY_NAME = "阳光小学图书馆"
"""The demo library's name (setting ``library_name``)."""

DEMO_KIOSK = "kiosk-1"
"""The kiosk the demo's loans and returns were made at (the default kiosk id)."""

DESK = "desk"
"""Where cards were issued and a few loans were made."""

BLOCKED_REASON = "丢失图书未赔偿 / lost book not paid for"
"""Why the demo's blocked student may not borrow."""

BUILT_SETTING = "demo_built"
"""Setting that marks a finished demo database (its value: the day it was built)."""

CODES_HEADER = ("role", "name", "code")
"""The header of the file :func:`export_codes` writes."""

OLD_CARD_SUFFIX = " (old card, revoked)"
"""Appended to the name on the exported row of the reissued student's old card."""

CLASSES_PER_GRADE = (3, 2, 3, 2, 2, 3)
"""How many classes grades 1 to 6 have."""

RETURNED_LOANS = 60
"""How many loans of the last five weeks came back already (the demo's history).

Each fact costs the build about 1.5 ms (six or seven queries); more history would
make the first start of the demo slower without showing anything new.
"""

FIRST_BARCODE = 10_000_001
"""The first accession number; copies are numbered on from here (8 digits)."""

GRADE_NAMES = "一二三四五六"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
)
"""Common surnames, most common first (the draw favours the front of the list)."""

BOY_NAMES = (
    "子轩", "浩宇", "宇航", "一鸣", "天佑", "梓睿", "皓然", "铭泽", "思远",
    "晨阳", "嘉乐", "明哲", "逸飞", "家豪", "浩然", "俊杰", "博文", "子墨",
    "宇轩", "梓豪", "睿", "浩", "轩", "杰", "泽宇", "奕辰", "煜城", "星辰",
    "子豪", "昊天", "文博", "志远", "一航", "锦程", "宸", "沐阳", "梓航",
    "俊熙", "若凡", "承泽", "乐天", "嘉懿", "书恒", "景行", "翔", "磊",
)
"""Given names parents chose for boys born 2010 to 2020."""
GIRL_NAMES = (
    "欣怡", "梓涵", "诗琪", "雨萱", "可馨", "思彤", "语嫣", "一诺", "若曦",
    "佳怡", "梦瑶", "心怡", "雅琪", "晨曦", "紫萱", "欣妍", "子涵", "诗涵",
    "梓萱", "雨桐", "安琪", "静怡", "悦", "婷", "琳", "思琪", "芷若", "可欣",
    "雨欣", "沐晴", "语桐", "佳琪", "艺涵", "梦琪", "嘉怡", "诗雨", "若汐",
    "心悦", "一然", "晓彤", "舒涵", "瑾萱", "月", "妍",
)
"""Given names parents chose for girls born 2010 to 2020."""
ADULT_NAMES = (
    "丽", "静", "敏", "伟", "强", "军", "艳", "娟", "霞", "燕", "勇",
    "杰", "红梅", "建华", "晓燕", "海燕", "志强", "秀英", "丽娟", "玉兰",
    "建国", "春梅", "文静", "晓东", "国强", "丽华", "雪梅", "海涛", "晓峰",
    "桂芳", "亚楠", "婷婷", "晓丽", "明", "慧", "莉",
)
"""Given names of the teachers' generation."""
