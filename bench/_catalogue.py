"""A large, realistic school catalogue for the find bench: Chinese and English titles.

The demo's 300 real titles first (Chinese children's literature, picture books,
English readers), then generated ones in the shapes school catalogues have: series
with numbered or named volumes (米小圈上学记·三年级, 神奇校车：海底探险, Magic Tree
House #12), story collections (365夜睡前故事), "the X of Y" novels, popular science
(十万个为什么：动物卷), English readers and chapter books; authors Chinese (2-3
characters) and translated ([美]露西·莫德), English first/last names; ISBNs with
valid check digits; CLC classifications; 1-6 copies a title, some lent.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "文轩红樱心田永烈丽宏学军天翼幼军溶溶伯吹汛涛渊洁秋生光耀华山小明晓东海燕春雨晨阳"
    "思远子涵一鸣嘉怡梓萱浩然宇轩欣怡佳琪雨桐若曦俊杰志强建国秀英玉兰桂芳丹丹"
)
ZH_NOUNS = [
    "小狐狸", "大象", "小猫", "小狗", "兔子", "恐龙", "小熊", "蚂蚁", "蝴蝶", "星星", "月亮",
    "太阳", "森林", "大海", "火车", "飞船", "魔法师", "小王子", "公主", "骑士", "机器人",
    "外星人", "宝藏", "秘密", "花园", "城堡", "小河", "风筝", "雪人", "彩虹", "蜗牛", "青蛙",
    "老鼠", "狮子", "老虎", "熊猫", "企鹅", "鲸鱼", "海豚", "小鸟", "猫头鹰", "种子", "大树",
    "爷爷", "奶奶", "爸爸", "妈妈", "老师", "同学", "朋友", "邻居", "小镇", "学校", "村庄",
]
ZH_ADJ = ["勇敢的", "神奇的", "快乐的", "调皮的", "孤独的", "聪明的", "小小的", "大大的",
          "会飞的", "爱哭的", "不睡觉的", "长大的", "迷路的", "勤劳的", "奇怪的", "温柔的"]
ZH_PATTERNS = [
    "{adj}{noun}", "{noun}和{noun2}", "{noun}的{noun2}", "{adj}{noun}历险记", "{noun}去旅行",
    "我的{noun}", "{noun}的故事", "{noun}找{noun2}", "寻找{adj}{noun}", "{noun}上学记",
    "{noun}日记", "{noun}的一天", "{adj}{noun}和{adj2}{noun2}", "再见，{noun}", "{noun}回家",
]
ZH_SERIES = [
    ("米小圈上学记", ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"]),
    ("淘气包马小跳", None), ("笑猫日记", None), ("神奇校车", None), ("不一样的卡梅拉", None),
    ("十万个为什么", ["数学卷", "物理卷", "化学卷", "天文卷", "地球卷", "动物卷", "植物卷"]),
    ("可怕的科学", None), ("小猪佩奇", None), ("中国神话故事", None), ("冒险小虎队", None),
    ("查理九世", None), ("装在口袋里的爸爸", None), ("皮皮鲁总动员", None), ("大中华寻宝记", None),
]
COLLECTIONS = ["365夜睡前故事", "成语故事", "寓言故事", "民间故事", "童话故事", "科学故事",
               "历史故事", "名人故事", "动物故事", "神话故事"]
EN_FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Harry", "Isla", "Jack",
            "Kate", "Leo", "Mia", "Noah", "Olivia", "Peter", "Rosie", "Sam", "Tom", "Zoe"]
EN_LAST = ["Smith", "Brown", "Wilson", "Taylor", "Walker", "White", "Green", "Hall", "Wood",
           "Clarke", "Baker", "Turner", "Hill", "Cooper", "Ward", "Morgan", "King", "Wright"]
EN_ADJ = ["Little", "Big", "Secret", "Magic", "Brave", "Lost", "Hidden", "Golden", "Silver",
          "Sleepy", "Hungry", "Tiny", "Wild", "Amazing", "Curious", "Happy", "Dark", "Last"]
EN_NOUNS = ["Dragon", "Fox", "Bear", "Rabbit", "Garden", "Island", "Castle", "Forest", "River",
            "Mouse", "Owl", "Robot", "Wizard", "Moon", "Star", "Train", "Pirate", "Treasure",
            "Giant", "Cat", "Dog", "Whale", "Tiger", "Tree", "School", "Friend", "Monster"]
EN_PATTERNS = [
    "The {adj} {noun}", "{name} and the {noun}", "The {noun} Who Lost Its {noun2}",
    "A {noun} for {name}", "Where Is {name}'s {noun}?", "The {adj} {noun} of {place}",
    "{name} Goes to the {noun2}", "How to Catch a {noun}", "My {adj} {noun}",
]
EN_SERIES = ["Magic Tree House", "Frog and Toad", "Diary of a Wimpy Kid", "Oxford Reading Tree",
             "Geronimo Stilton", "The Boxcar Children", "Captain Underpants", "Dog Man"]
CLC = ["I287.5", "I287.45", "I287.7", "I287.8", "I712.84", "I712.85", "I561.84", "I313.85",
       "Z228.1", "N49", "Q95-49", "K209", "G624.23", "H319.4", "J228.2", "TP3-49", "P1-49"]
FOREIGN = ["[美]", "[英]", "[法]", "[德]", "[日]", "[意]", "[瑞典]", "[加]"]
FOREIGN_NAMES = ["露西·莫德", "罗尔德·达尔", "埃尔热", "宫西达也", "乔安娜·柯尔", "E.B.怀特",
                 "安东尼·布朗", "艾瑞·卡尔", "玛格丽特·怀兹·布朗", "阿斯特丽德·林格伦"]


def isbn13(rng: random.Random, group: str = "7") -> str:
    """A valid ISBN-13 (978, the group, a publisher and title number, the check digit)."""
    body = "978" + group + "".join(rng.choice("0123456789") for _ in range(12 - 3 - len(group)))
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _zh_author(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return rng.choice(FOREIGN) + rng.choice(FOREIGN_NAMES)
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def _en_author(rng: random.Random) -> str:
    return f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"


def generated(rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    """``count`` titles: about four Chinese to one English, a third of them in series."""
    volumes: dict[str, int] = {}
    for _ in range(count):
        roll = rng.random()
        series = ""
        if roll < 0.62:
            noun, noun2 = rng.sample(ZH_NOUNS, 2)
            adj, adj2 = rng.sample(ZH_ADJ, 2)
            title = rng.choice(ZH_PATTERNS).format(noun=noun, noun2=noun2, adj=adj, adj2=adj2)
            author = _zh_author(rng)
        elif roll < 0.74:
            series, parts = rng.choice(ZH_SERIES)
            number = volumes[series] = volumes.get(series, 0) + 1
            if parts:
                part = parts[number % len(parts)]
            else:
                noun, noun2 = rng.sample(ZH_NOUNS, 2)
                part = rng.choice(["{noun}的秘密", "寻找{noun}", "{noun}和{noun2}", "{noun}大冒险"]
                                  ).format(noun=noun, noun2=noun2)
            title = f"{series}：{part}" + (f"（{number}）" if number > len(parts or ()) else "")
            author = _zh_author(rng)
        elif roll < 0.80:
            title = f"{rng.choice(COLLECTIONS)}·{rng.choice(ZH_NOUNS)}卷"
            author = _zh_author(rng) + " 编"
        elif roll < 0.95:
            noun, noun2 = rng.sample(EN_NOUNS, 2)
            title = rng.choice(EN_PATTERNS).format(
                adj=rng.choice(EN_ADJ), noun=noun, noun2=noun2, name=rng.choice(EN_FIRST),
                place=rng.choice(["Paris", "the Sea", "Mars", "the North", "Oz"]),
            )
            author = _en_author(rng)
        else:
            series = rng.choice(EN_SERIES)
            number = volumes[series] = volumes.get(series, 0) + 1
            noun = rng.choice(EN_NOUNS)
            title = f"{series} #{number}: The {rng.choice(EN_ADJ)} {noun}"
            author = _en_author(rng)
        english = title.isascii()
        yield {
            "title": title,
            "author": author,
            "series": series,
            "isbn": isbn13(rng, "0" if english else "7") if rng.random() < 0.85 else None,
            "classification": rng.choice(CLC),
            "kind": "picture_book" if rng.random() < 0.15 else "book",
            "publisher": "少年儿童出版社" if not english else "Puffin",
        }
