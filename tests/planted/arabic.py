"""Arabic planted families: a bank's customer service (customer message, agent reply).

Each family is one customer: a name, a city, and one of six topics (blocked card, late
transfer, personal loan, account statement, mobile app error, unexpected fee), with its own
card digits, amounts, days, branch, error code and reference number. In about 40 % of the
families the digits are Arabic-Indic (٠-٩), the same in every row of that family. Many
families share a topic and so its vocabulary and some reply sentences.

Text uses the Arabic comma (U+060C) and question mark (U+061F). Variants of the original apply
1 to 4 of: synonym swaps (own list), reordered reply sentences (and the question moved before
the problem), fillers at sentence starts ("للتوضيح فقط،", "كما ذكرت سابقاً،", "على أي حال،",
"بالإضافة إلى ذلك،"), 1-3 character typos in Arabic words (swap, drop, double), tatweel
(U+0640) stretched inside 1-2 words, and diacritics (U+064B-U+0652) on 1-3 words. Every reply
ends with the same boilerplate line.
"""
from __future__ import annotations

import random
import re

from ._common import PlantedSet, Thesaurus, add_typos, build, choose_ops, pick, reorder

BOILERPLATE = "— خدمة العملاء، البنك العربي المتحد. هذه رسالة آلية، يرجى عدم الرد عليها."
TATWEEL = "\u0640"
HARAKAT = ["\u064e", "\u064f", "\u0650", "\u0652", "\u0651", "\u064b"]  # fatha damma kasra sukun shadda fathatan
NON_JOINING = set("اأإآدذرزوؤةىء")
ARABIC_WORD = r"[\u0621-\u064A]{4,}"
INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

FIRST = ["أحمد", "فاطمة", "يوسف", "مريم", "خالد", "ليلى", "عمر", "سارة", "حسن", "نور", "كريم", "هدى",
         "طارق", "رنا", "سامي", "دينا"]
LAST = ["الخطيب", "العمري", "حداد", "منصور", "السيد", "النجار", "الزين", "عيسى", "الحسيني", "شاهين"]
CITY = ["الرياض", "القاهرة", "عمّان", "الدار البيضاء", "بيروت", "تونس", "دبي", "الدوحة", "الكويت",
        "مسقط", "الجزائر", "جدة"]
DAY = ["الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "السبت"]
BRANCH = ["فرع وسط المدينة", "فرع المطار", "فرع الجامعة", "فرع الميناء", "فرع السوق القديم",
          "فرع الحي الدبلوماسي"]

TOPICS = {
    "card": {
        "problem": "بطاقتي المنتهية بالرقم {d4} توقفت عن العمل يوم {day}",
        "ask": "ماذا يجب أن أفعل؟",
        "reply": ["تم إيقاف البطاقة المنتهية بالرقم {d4} مؤقتاً لحمايتك.",
                  "يمكنك تفعيلها من جديد عبر التطبيق من قائمة البطاقات.",
                  "سنرسل رمز التحقق إلى رقم الهاتف المنتهي بالرقم {p2}.",
                  "إذا لم تقم بالعملية الأخيرة بقيمة {amount} دولار، يرجى إبلاغنا فوراً.",
                  "يمكنك أيضاً استلام بطاقة جديدة من {branch} خلال {n2} أيام عمل.",
                  "رقم الطلب الخاص بك هو {ref}."],
    },
    "transfer": {
        "problem": "أرسلت حوالة بقيمة {amount} دولار إلى {city2} يوم {day} ولم تصل حتى الآن",
        "ask": "متى ستصل الحوالة؟",
        "reply": ["تحققنا من الحوالة رقم {ref} وهي قيد المراجعة.",
                  "عادةً تصل الحوالات الدولية خلال {n2} أيام عمل.",
                  "يرجى التأكد من رقم الآيبان الخاص بالمستفيد في {city2}.",
                  "إذا تأخرت أكثر من ذلك، سنعيد المبلغ {amount} دولار إلى حسابك.",
                  "لن يتم خصم أي رسوم إضافية بسبب هذا التأخير.",
                  "يمكنك متابعة حالة الحوالة من التطبيق."],
    },
    "loan": {
        "problem": "أريد أن أعرف شروط القرض الشخصي بقيمة {amount} دولار",
        "ask": "هل يمكنني التقديم عبر الإنترنت؟",
        "reply": ["نعم، يمكنك التقديم على القرض عبر التطبيق أو الموقع.",
                  "نسبة الفائدة الحالية هي {rate} بالمئة سنوياً.",
                  "مدة السداد تصل إلى {n3} شهراً.",
                  "ستحتاج إلى كشف راتب لآخر ثلاثة أشهر وصورة الهوية.",
                  "سيتصل بك مستشار من {branch} خلال {n2} أيام عمل.",
                  "رقم طلبك المبدئي هو {ref}."],
    },
    "statement": {
        "problem": "أحتاج إلى كشف حساب لآخر {n} أشهر من أجل طلب تأشيرة",
        "ask": "كيف أحصل عليه بسرعة؟",
        "reply": ["يمكنك تحميل كشف الحساب من التطبيق بصيغة PDF.",
                  "إذا كنت تحتاج إلى نسخة مختومة، يرجى زيارة {branch}.",
                  "النسخة المختومة جاهزة خلال {n2} أيام عمل.",
                  "رسوم الكشف المختوم هي {fee} دولار.",
                  "أرسلنا رابط التحميل إلى بريدك الإلكتروني المسجل.",
                  "رقم الطلب هو {ref}."],
    },
    "app": {
        "problem": "تطبيق البنك على هاتفي لا يفتح منذ يوم {day} ويظهر رسالة خطأ {code}",
        "ask": "هل هناك مشكلة عامة؟",
        "reply": ["لا توجد مشكلة عامة في التطبيق حالياً.",
                  "يرجى تحديث التطبيق إلى الإصدار {version}.",
                  "امسح ذاكرة التخزين المؤقت ثم أعد تشغيل الهاتف.",
                  "إذا استمر ظهور الخطأ {code}، أرسل لنا صورة للشاشة.",
                  "يمكنك استخدام الخدمات المصرفية عبر الموقع في الوقت الحالي.",
                  "رقم البلاغ الخاص بك هو {ref}."],
    },
    "fees": {
        "problem": "تم خصم رسوم بقيمة {fee} دولار من حسابي يوم {day} ولا أعرف السبب",
        "ask": "هل يمكن استرجاعها؟",
        "reply": ["هذه الرسوم خاصة بالسحب من صراف آلي تابع لبنك آخر في {city2}.",
                  "بما أنك عميل منذ {years} سنوات، سنعيد المبلغ {fee} دولار إلى حسابك.",
                  "سيظهر المبلغ في حسابك خلال {n2} أيام عمل.",
                  "يمكنك تجنب هذه الرسوم باستخدام صرافاتنا.",
                  "رقم الشكوى هو {ref}."],
    },
}
TOPIC_NAMES = list(TOPICS)
CLOSE = ["نحن في خدمتك دائماً.", "نتمنى لك يوماً سعيداً.", "لا تتردد في التواصل معنا."]

THESAURUS = Thesaurus([
    ["أريد", "أود", "أرغب"], ["بسرعة", "سريعاً"], ["شكراً", "أشكرك"], ["يرجى", "الرجاء"],
    ["يمكنك", "بإمكانك"], ["حالياً", "في الوقت الراهن"], ["خلال", "في غضون"], ["فوراً", "على الفور"],
    ["عادةً", "في العادة"], ["مشكلة", "خلل"], ["الآن", "اللحظة"], ["نتمنى", "نرجو"],
    ["تحققنا", "تأكدنا"], ["أرسلنا", "بعثنا"], ["دائماً", "على الدوام"], ["استلام", "تسلّم"],
])
FILLERS = ["للتوضيح فقط، ", "كما ذكرت سابقاً، ", "على أي حال، ", "بالإضافة إلى ذلك، "]


def tatweel(rng: random.Random, text: str, n: int) -> str:
    """Stretch n Arabic words with 1-3 tatweels after a letter that joins to the left."""
    spans = [m.span() for m in re.finditer(ARABIC_WORD, text)]
    for a, b in sorted(rng.sample(spans, min(n, len(spans))), reverse=True):
        word = text[a:b]
        spots = [i for i in range(len(word) - 1) if word[i] not in NON_JOINING]
        if spots:
            i = rng.choice(spots)
            word = word[: i + 1] + TATWEEL * rng.randint(1, 3) + word[i + 1:]
        text = text[:a] + word + text[b:]
    return text


def diacritics(rng: random.Random, text: str, n: int) -> str:
    """Put short-vowel marks after some letters of n Arabic words (partial vocalisation)."""
    spans = [m.span() for m in re.finditer(ARABIC_WORD, text)]
    for a, b in sorted(rng.sample(spans, min(n, len(spans))), reverse=True):
        word = "".join(ch + (rng.choice(HARAKAT) if rng.random() < 0.6 else "") for ch in text[a:b])
        text = text[:a] + word + text[b:]
    return text


def _original(rng: random.Random, f: int) -> dict:
    topic = TOPIC_NAMES[rng.randrange(len(TOPIC_NAMES))]
    spec = TOPICS[topic]
    city, city2 = pick(rng, CITY, 2)
    first = rng.choice(FIRST)
    slots = {
        "d4": f"{rng.randint(0, 9999):04d}", "p2": f"{rng.randint(0, 99):02d}", "day": rng.choice(DAY),
        "amount": str(rng.choice([250, 480, 1200, 3500, 7800, 15000, 42000]) + rng.randint(0, 99)),
        "city2": city2, "branch": rng.choice(BRANCH), "n": rng.randint(3, 12), "n2": rng.randint(3, 7),
        "n3": rng.choice([12, 24, 36, 48, 60]), "rate": f"{rng.randint(3, 9)}.{rng.randint(0, 9)}",
        "fee": str(rng.randint(2, 40)), "years": rng.randint(3, 10),
        "code": f"{rng.choice('ABEKM')}-{rng.randint(100, 999)}",
        "version": f"{rng.randint(3, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        "ref": f"{rng.randint(10 ** 7, 10 ** 8 - 1)}",
    }
    indic = rng.random() < 0.4
    fmt = (lambda s: s.format(**slots).translate(INDIC)) if indic else (lambda s: s.format(**slots))
    prompt = [f"مرحباً، اسمي {first} {rng.choice(LAST)} من {city}.", fmt(spec["problem"]) + ".", spec["ask"]]
    greeting = rng.choice([f"أهلاً {first}، شكراً لتواصلك معنا.", f"مرحباً {first}، شكراً على رسالتك."])
    reply = [fmt(s) for s in pick(rng, spec["reply"], rng.randint(3, 4))]
    return {"prompt": prompt, "greeting": greeting, "reply": reply, "close": rng.choice(CLOSE)}


def _render(o: dict, prompt: list[str] | None = None, reply: list[str] | None = None) -> tuple[str, str]:
    prompt = o["prompt"] if prompt is None else prompt
    reply = o["reply"] if reply is None else reply
    return " ".join(prompt), f"{o['greeting']} {' '.join(reply)} {o['close']}\n{BOILERPLATE}"


def _variant(rng: random.Random, o: dict) -> tuple[str, str, list[str]]:
    ops = choose_ops(rng, ["synonyms", "reorder", "fillers", "typos", "tatweel", "diacritics"], 1, 4)
    prompt, reply = list(o["prompt"]), list(o["reply"])
    if "reorder" in ops:
        reply = reorder(rng, reply)
        if rng.random() < 0.4:
            prompt = [prompt[0], prompt[2], prompt[1]]
    if "fillers" in ops:
        for i in sorted(rng.sample(range(len(reply)), rng.randint(1, 2)), reverse=True):
            if not reply[i].startswith(tuple(FILLERS)):
                reply[i] = rng.choice(FILLERS) + reply[i]
    p, c = _render(o, prompt, reply)
    c = c[: -len(BOILERPLATE)]
    if "synonyms" in ops:
        p, c = THESAURUS.swap(rng, p), THESAURUS.swap(rng, c)
    if "typos" in ops:
        p, c = add_typos(rng, p, rng.randint(0, 1), ARABIC_WORD), add_typos(rng, c, rng.randint(1, 3), ARABIC_WORD)
    if "tatweel" in ops:
        p, c = tatweel(rng, p, rng.randint(0, 1)), tatweel(rng, c, rng.randint(1, 2))
    if "diacritics" in ops:
        p, c = diacritics(rng, p, rng.randint(0, 1)), diacritics(rng, c, rng.randint(1, 3))
    return p, c + BOILERPLATE, ops


SALT = 3  # seeds this generator's random stream apart from the others'


def generate(n_families: int = 360, seed: int = 0, shape: str = "prompt_completion",
             declare_family: bool = True) -> PlantedSet:
    """Arabic planted families. Default: 360 families, about 1,300 rows."""
    return build(n_families, seed, "ar", shape, declare_family, _original, _variant, _render, salt=SALT)
