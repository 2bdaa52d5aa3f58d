"""Chinese planted families: after-sales customer service of an online shop (no spaces).

Each family is one customer message and the service agent's reply. The customer has a surname
and title, a city, a purchase date, an item and an order number, and writes about one of six
topics (refund, exchange, delivery delay, invoice, member points, quality/warranty). Many
families share a topic, so they share its vocabulary and some reply sentences; what tells them
apart is the customer, the item, the order and reference numbers, the amounts and which 3-4
of the topic's 5-7 reply sentences the agent chose.

Text uses Chinese punctuation only (，。！？、“”), no spaces. Variants of the original apply 1 to
4 of: synonym swaps (own list, substring matches), clause reordering (reply sentences, and the
question moved before the problem), fillers at sentence starts (“另外，”“总之，”“顺便说一下，”
“需要说明的是，”), and 1-3 character edits on Han characters (drop, double, swap with the next
character, or a common wrong homophone such as 的/得, 在/再). Every reply ends with the same
boilerplate line.
"""
from __future__ import annotations

import random
import re

from ._common import PlantedSet, Thesaurus, build, choose_ops, pick, reorder

BOILERPLATE = "【温馨提示】本消息由售后服务中心自动发送，请勿直接回复；服务时间为每天九点至二十一点。"

SURNAME = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗")
TITLE = ["先生", "女士"]
CITY = ["杭州", "成都", "武汉", "西安", "南京", "厦门", "长沙", "青岛", "郑州", "昆明", "沈阳", "合肥"]
ITEM = ["蓝牙耳机", "电饭煲", "运动鞋", "保温杯", "台灯", "羽绒服", "行李箱", "空气炸锅", "机械键盘",
        "儿童书包", "电动牙刷", "吸尘器", "榨汁机", "登山背包", "智能手表", "加湿器", "床上四件套", "茶具套装"]
DEFECT = ["屏幕有划痕", "开关失灵", "拉链坏了", "颜色和图片不一样", "尺码偏小", "有一股异味", "底部漏水",
          "充不进电", "外壳有裂缝", "按键没有反应"]
COURIER = ["顺丰", "中通", "圆通", "京东物流", "韵达", "申通"]
COMPANY_A = ["星河", "蓝海", "远航", "恒通", "嘉禾", "华宇", "青松", "明达"]
COMPANY_B = ["科技", "贸易", "文化传媒", "餐饮管理", "建筑设计"]
LEVEL = ["银卡会员", "金卡会员", "钻石会员"]

TOPICS = {
    "refund": {
        "problem": "申请退款已经{n}天了，钱还没有退回来",
        "ask": "请问什么时候能到账？",
        "reply": ["我们已经查询到订单{order}的退款申请。",
                  "退款金额{amount}元会原路退回到您的支付账户。",
                  "银行处理通常需要{n2}个工作日，请耐心等待。",
                  "如果超过{n2}个工作日仍未到账，请提供支付截图。",
                  "本次退款的流水号是{ref}，可以在“我的订单”里查看进度。",
                  "给您带来的不便，我们深表歉意。",
                  "财务同事会在今天下班前再次核对这笔款项。"],
    },
    "exchange": {
        "problem": "收到后发现{defect}，想换一个新的",
        "ask": "换货需要怎么操作？",
        "reply": ["请您在“我的订单”中找到订单{order}，点击“申请换货”。",
                  "寄回时请保留{item}的原包装、说明书和全部配件。",
                  "我们会安排{courier}上门取件，运费由我们承担。",
                  "仓库收到退回的商品后，会在{n2}天内寄出新的{item}。",
                  "换货单号是{ref}，请寄件时写在包裹上。",
                  "如果新的{item}仍有问题，可以直接申请退款。"],
    },
    "delivery": {
        "problem": "到现在还没有收到，物流信息停在{city2}已经{n}天了",
        "ask": "能帮我查询一下吗？",
        "reply": ["我们查询到订单{order}的包裹目前在{city2}的中转站。",
                  "已经联系{courier}加急处理，预计{n2}天内送达。",
                  "如果包裹遗失，我们会尽快重新为您寄出一件{item}。",
                  "物流单号是{ref}，您也可以在{courier}的官网查询。",
                  "派送前快递员会提前给尾号{phone}的手机打电话。",
                  "请保持电话畅通，以免错过派送。"],
    },
    "invoice": {
        "problem": "需要开一张抬头为“{company}”的增值税发票",
        "ask": "发票多久能寄出？",
        "reply": ["发票抬头“{company}”已经登记在订单{order}下。",
                  "电子发票会在{n2}个工作日内发送到您的邮箱。",
                  "如果需要纸质发票，我们会通过{courier}寄出。",
                  "请核对税号、地址和电话是否正确，开出后无法修改。",
                  "发票编号是{ref}，报销时可以直接使用。"],
    },
    "points": {
        "problem": "下单时没有用上会员积分，少抵了{amount}元",
        "ask": "这部分能补回来吗？",
        "reply": ["我们核实了订单{order}，下单时确实没有抵扣积分。",
                  "少抵的{amount}元会以优惠券的形式补发到您的账户。",
                  "优惠券的编号是{ref}，有效期为{n2}天。",
                  "以后下单时，请在结算页面勾选“使用积分”。",
                  "您目前的会员等级是{level}，积分不会过期。"],
    },
    "quality": {
        "problem": "用了{n}天就出现{defect}的情况",
        "ask": "可以保修吗？",
        "reply": ["很抱歉{item}出现了这样的问题。",
                  "{item}在保修期内，可以免费维修、更换或者退款。",
                  "请拍一段视频，上传到订单{order}的售后页面。",
                  "售后工程师会在{n2}个工作日内联系您。",
                  "维修单号是{ref}，请妥善保存。",
                  "如果维修后仍然有问题，可以申请全额退款。"],
    },
}
TOPIC_NAMES = list(TOPICS)
REF_PREFIX = {"refund": "TK", "exchange": "HH", "delivery": "SF", "invoice": "FP", "points": "YH",
              "quality": "WX"}
CLOSE = ["如有其他问题，欢迎随时联系我们。", "我们会尽快跟进，感谢您的理解！", "祝您生活愉快！",
         "感谢您的耐心，有消息我们会第一时间通知您。"]

THESAURUS = Thesaurus([
    ["查询", "查看"], ["核对", "确认"], ["核实", "核查"], ["尽快", "尽早", "马上"], ["联系", "联络"],
    ["寄出", "发出"], ["请耐心等待", "请您稍等"], ["抱歉", "不好意思"], ["包裹", "快件"],
    ["免费", "无偿"], ["预计", "估计"], ["妥善保存", "好好保管"], ["通常", "一般"], ["运费", "邮费"],
    ["买的", "购买的"], ["收到", "拿到"], ["目前", "现在"], ["全部", "所有"], ["直接", "径直"],
    ["感谢", "谢谢"], ["欢迎随时", "随时可以"], ["能帮我", "可以帮我"], ["请问", "想问一下"],
], word_bounded=False)
FILLERS = ["另外，", "总之，", "顺便说一下，", "需要说明的是，"]
HOMOPHONE = {"的": "得", "在": "再", "已": "以", "做": "作", "账": "帐", "像": "象", "需": "须", "再": "在"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def char_edits(rng: random.Random, text: str, n: int) -> str:
    """n edits at distinct Han characters: drop, double, swap with the next character, or a
    wrong homophone where the character has one in HOMOPHONE."""
    positions = [m.start() for m in HAN.finditer(text)]
    for i in sorted(rng.sample(positions, min(n, len(positions))), reverse=True):
        ch = text[i]
        kind = rng.choice(("drop", "double", "swap", "homophone"))
        if kind == "homophone" and ch in HOMOPHONE:
            text = text[:i] + HOMOPHONE[ch] + text[i + 1:]
        elif kind == "swap" and i + 1 < len(text) and HAN.match(text[i + 1]):
            text = text[:i] + text[i + 1] + ch + text[i + 2:]
        elif kind == "double":
            text = text[:i] + ch + text[i:]
        else:
            text = text[:i] + text[i + 1:]
    return text


def _original(rng: random.Random, f: int) -> dict:
    topic = TOPIC_NAMES[rng.randrange(len(TOPIC_NAMES))]
    spec = TOPICS[topic]
    city, city2 = pick(rng, CITY, 2)
    name = rng.choice(SURNAME) + rng.choice(TITLE)
    slots = {
        "order": str(rng.randint(10 ** 11, 10 ** 12 - 1)), "item": rng.choice(ITEM),
        "defect": rng.choice(DEFECT), "courier": rng.choice(COURIER), "city2": city2,
        "n": rng.randint(3, 20), "n2": rng.choice([3, 5, 7, 10, 15]),
        "amount": f"{rng.randint(12, 2999)}", "phone": f"{rng.randint(0, 9999):04d}",
        "ref": f"{REF_PREFIX[topic]}{rng.randint(10 ** 7, 10 ** 8 - 1)}",
        "company": f"{rng.choice(CITY)}{rng.choice(COMPANY_A)}{rng.choice(COMPANY_B)}有限公司",
        "level": rng.choice(LEVEL),
    }
    date = f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
    prompt = [f"你好，我是{city}的{name}。",
              f"我在{date}买的{slots['item']}（订单号{slots['order']}）{spec['problem'].format(**slots)}。",
              spec["ask"]]
    greeting = rng.choice([f"{name}您好！", f"您好，{name}！"])
    reply = [s.format(**slots) for s in pick(rng, spec["reply"], rng.randint(3, 4))]
    return {"prompt": prompt, "greeting": greeting, "reply": reply, "close": rng.choice(CLOSE)}


def _render(o: dict, prompt: list[str] | None = None, reply: list[str] | None = None) -> tuple[str, str]:
    prompt = o["prompt"] if prompt is None else prompt
    reply = o["reply"] if reply is None else reply
    return "".join(prompt), f"{o['greeting']}{''.join(reply)}{o['close']}\n{BOILERPLATE}"


def _variant(rng: random.Random, o: dict) -> tuple[str, str, list[str]]:
    ops = choose_ops(rng, ["synonyms", "reorder", "fillers", "char_edits"], 1, 4)
    prompt, reply = list(o["prompt"]), list(o["reply"])
    if "reorder" in ops:
        reply = reorder(rng, reply)
        if rng.random() < 0.4:  # the question first, then the problem
            prompt = [prompt[0], prompt[2], prompt[1]]
    if "fillers" in ops:
        for i in sorted(rng.sample(range(1, len(reply)), rng.randint(1, 2)), reverse=True):
            if not reply[i].startswith(tuple(FILLERS)):
                reply[i] = rng.choice(FILLERS) + reply[i]
    p, c = _render(o, prompt, reply)
    c = c[: -len(BOILERPLATE)]
    if "synonyms" in ops:
        p, c = THESAURUS.swap(rng, p), THESAURUS.swap(rng, c)
    if "char_edits" in ops:
        p = char_edits(rng, p, rng.randint(0, 1))
        c = char_edits(rng, c, rng.randint(1, 3))
    return p, c + BOILERPLATE, ops


SALT = 2  # seeds this generator's random stream apart from the others'


def generate(n_families: int = 360, seed: int = 0, shape: str = "prompt_completion",
             declare_family: bool = True) -> PlantedSet:
    """Chinese planted families. Default: 360 families, about 1,300 rows."""
    return build(n_families, seed, "zh", shape, declare_family, _original, _variant, _render, salt=SALT)
