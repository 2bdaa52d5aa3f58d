"""English with web punctuation: reader comments on a recipe blog and the author's replies.

Each family is one reader comment about one dish: the reader's name, a dish (a flavour and a
base, e.g. "miso–ginger salmon"), one of six topics (make ahead, substitution, freezing, high
altitude, air fryer, scaling to another tin), the reader's context, and the author's reply: a
greeting, 3-5 bullet points chosen from the topic's 5-7 (with the family's own temperatures,
times, weights and a post URL), and a sign-off. Many families share a topic, so they share its
bullets' vocabulary.

The text is written as web copy is: em dashes (U+2014) and en dashes (U+2013, ranges such as
"25–30 minutes"), no-break spaces (U+00A0) between numbers and units, curly quotes and
apostrophes (U+2018/2019/201C/201D), the ellipsis character (U+2026), URLs, emoji, bullet
characters (U+2022). About 20 % of originals also hold zero-width spaces (U+200B), after some
spaces and after the slashes of URLs.

Variants of the original apply 1 to 4 of: synonym swaps, reordered bullets, fillers ("Just to be
clear,", "As mentioned,", "Honestly,"), 1-3 character typos, plain punctuation (straight quotes,
"-" or "--" for dashes, "..." for the ellipsis, plain spaces, "-" or "*" bullets), zero-width
spaces inserted, and emoji dropped or added. Every reply ends with the same footer.
"""
from __future__ import annotations

import random
import re

from ._common import PlantedSet, Thesaurus, add_typos, build, choose_ops, pick, reorder

NB = "\u00a0"
ZWSP = "\u200b"
FOOTER = ("—\n📌 Save it for later → https://www.pinterest.com/thecrumbjournal/ • 💌 New recipes every "
          "Friday: https://thecrumbjournal.com/newsletter")

READER = ["Jess", "Tomás", "Aoife", "Bilal", "Mei", "Dana", "Kofi", "Lena", "Rahul", "Zoë", "Pat", "Sven",
          "Marisol", "Ifeoma", "Gus", "Hiroshi"]
FLAVOUR = ["lemon–thyme", "smoky chipotle", "brown-butter", "miso–ginger", "harissa", "maple–mustard",
           "garlic–parmesan", "coconut–lime", "za’atar", "cardamom–orange", "black-pepper", "honey–rosemary"]
BASE = ["chicken thighs", "cauliflower steaks", "salmon", "sweet potatoes", "chickpea traybake",
        "pork tenderloin", "banana bread", "oat cookies", "focaccia", "carrot cake", "apple galette",
        "shortbread", "meatballs", "roast squash"]
TEMP = [f"180{NB}°C (350{NB}°F)", f"200{NB}°C (400{NB}°F)", f"190{NB}°C (375{NB}°F)",
        f"160{NB}°C (320{NB}°F)", f"220{NB}°C (425{NB}°F)"]
TEMP_AF = [f"170{NB}°C", f"180{NB}°C", f"160{NB}°C", f"190{NB}°C"]
GARNISH = ["crispy shallots", "herb salsa", "toasted seeds", "lemon glaze", "whipped feta", "crumble topping"]
FAT = ["olive oil", "vegan butter", "coconut oil", "ghee"]
FLOUR = ["a 1:1 gluten-free blend", "spelt flour", "oat flour", "buckwheat flour"]
BRAND = ["Bob’s Red Mill", "Doves Farm", "King Arthur", "Schär"]
DAY = ["Saturday", "Sunday", "Friday night", "Thanksgiving", "Christmas Eve", "my mum’s birthday"]
DIET = ["dairy-free", "gluten-free", "egg-free"]

TOPICS = {
    "make_ahead": {
        "ask": "Can I make the {dish} the day before?", "anchor": "make-ahead",
        "bullets": ["Bake it up to {hours} hours ahead and keep it covered at room temperature.",
                    "Reheat at {temp} for {t1}–{t2}{NB}minutes — it crisps right back up.",
                    "Keep the {garnish} separate until just before serving.",
                    "The sauce keeps for {days}{NB}days in the fridge…",
                    "For {people} people, double everything except the salt.",
                    "I wrote a whole post on timing: {url}",
                    "Don’t slice it until it’s fully cooled, or it goes “gummy.”"],
    },
    "substitution": {
        "ask": "Could I make the {dish} {diet}?", "anchor": "substitutions",
        "bullets": ["Swap the butter for {fat} 1:1 — it works fine.",
                    "Use {flour} instead of plain flour; add {xg}{NB}g extra if the batter looks thin.",
                    "A “flax egg” (1{NB}tbsp ground flax + 3{NB}tbsp water) replaces each egg.",
                    "Expect it to bake {t1}–{t2}{NB}minutes longer…",
                    "Readers have had luck with {brand} — see the comments here: {url}",
                    "The texture will be a bit denser, but still lovely."],
    },
    "freezing": {
        "ask": "Does the {dish} freeze well?", "anchor": "freezing",
        "bullets": ["Wrap each portion tightly and freeze for up to {weeks}{NB}weeks.",
                    "Thaw overnight in the fridge — never on the counter.",
                    "Reheat from frozen at {temp} for about {t2}{NB}minutes.",
                    "Freeze the {garnish} separately; it goes soggy otherwise.",
                    "Label the bags with the date… trust me 😅",
                    "More freezer tips: {url}"],
    },
    "altitude": {
        "ask": "Any tips for baking the {dish} at altitude? We’re at {alt}{NB}m.", "anchor": "altitude",
        "bullets": ["Reduce the baking powder to {frac}{NB}tsp.",
                    "Raise the oven to {temp} and shorten the bake by {t1}{NB}minutes.",
                    "Add {xg}{NB}g more liquid — the batter should be “ribbon-thick.”",
                    "Fill the {pan}{NB}cm tin only two-thirds full.",
                    "My high-altitude guide explains why: {url}",
                    "Let it rest {t1}{NB}minutes before you check the middle."],
    },
    "air_fryer": {
        "ask": "Can the {dish} go in the air fryer instead of the oven?", "anchor": "air-fryer",
        "bullets": ["Set the air fryer to {temp_af} — about 20° lower than the oven.",
                    "Cook in batches, {t1}–{t2}{NB}minutes each, shaking halfway.",
                    "Don’t overcrowd the basket, or nothing browns.",
                    "Brush the {base} with {fat} first.",
                    "Check at {t1}{NB}minutes… every machine is different.",
                    "Here’s my air-fryer conversion chart: {url}"],
    },
    "scaling": {
        "ask": "How would I scale the {dish} for a {pan}{NB}cm tin?", "anchor": "scaling",
        "bullets": ["For a {pan}{NB}cm tin, multiply everything by {factor}.",
                    "Bake at {temp} for {t1}–{t2}{NB}minutes, then test with a skewer.",
                    "Use {eggs} eggs — round up, not down.",
                    "Keep the spices at 1.5× rather than doubling them.",
                    "The printable card has a “scale” button: {url}",
                    "Line the {pan}{NB}cm tin with baking paper first."],
    },
}
TOPIC_NAMES = list(TOPICS)
CONTEXT = ["I’m hosting {people} people on {day} 🎉", "My oven runs a little hot…",
           "Saw this on your Instagram — looks amazing!", "Made your {other} last week and it was a hit 🙌",
           "Total beginner here 🙈", "My kids are picky, so fingers crossed 🤞"]
GREETING = ["Hi {reader}! 😊 Great question about the {dish}.",
            "Thanks so much, {reader} — so glad you’re making the {dish}!",
            "Hey {reader}! Love that you’re trying the {dish} ✨"]
CLOSE = ["Let me know how it turns out!", "Happy baking ✨", "Enjoy — and tag me if you post it 📸"]

THESAURUS = Thesaurus([
    ["great", "fantastic"], ["lovely", "delicious"], ["about", "roughly", "around"],
    ["shorten", "cut"], ["tips", "pointers"], ["so glad", "thrilled"], ["Let me know", "Tell me"],
    ["a bit", "slightly"], ["amazing", "incredible"], ["test", "check"], ["trust me", "believe me"],
    ["instead of", "in place of"], ["first", "beforehand"], ["separate", "apart"], ["wrap", "cover"],
    ["keeps", "lasts"], ["works fine", "works perfectly"], ["Reheat", "Warm up"], ["picky", "fussy"],
])
FILLERS = ["Just to be clear,", "As mentioned,", "Honestly,", "FWIW,"]
WORD = r"[A-Za-z]{4,}"
EMOJI = re.compile(r" ?[\U0001F300-\U0001FAFF\u2600-\u27BF]\ufe0f?")
PLAIN = {"‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", NB: " ", "–": "-"}


def plain_punct(rng: random.Random, text: str) -> str:
    """Web punctuation as typed on a plain keyboard."""
    dash, bullet = rng.choice(["-", "--"]), rng.choice(["-", "*"])
    for a, b in PLAIN.items():
        text = text.replace(a, b)
    return text.replace("—", dash).replace("•", bullet)


def add_zwsp(rng: random.Random, text: str, p: float = 0.25) -> str:
    """Zero-width spaces after some spaces and after the slashes of URLs."""
    text = re.sub(r"(https?://\S+)", lambda m: m.group(1).replace("/", "/" + ZWSP), text)
    return re.sub(" ", lambda m: " " + ZWSP if rng.random() < p else " ", text)


def _slug(s: str) -> str:
    s = s.replace("’", "").replace("–", "-")
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _original(rng: random.Random, f: int) -> dict:
    topic = TOPIC_NAMES[rng.randrange(len(TOPIC_NAMES))]
    spec = TOPICS[topic]
    base = rng.choice(BASE)
    dish = f"{rng.choice(FLAVOUR)} {base}"
    t1 = rng.choice([5, 8, 10, 12, 15, 20])
    slots = {
        "NB": NB, "dish": dish, "base": base, "reader": rng.choice(READER), "temp": rng.choice(TEMP),
        "temp_af": rng.choice(TEMP_AF), "t1": t1, "t2": t1 + rng.choice([3, 5, 10]),
        "hours": rng.choice([6, 12, 24, 36, 48]), "days": rng.randint(3, 6), "people": rng.randint(6, 30),
        "garnish": rng.choice(GARNISH), "fat": rng.choice(FAT), "flour": rng.choice(FLOUR),
        "xg": rng.choice([10, 15, 20, 25, 30]), "brand": rng.choice(BRAND), "weeks": rng.choice([4, 6, 8, 12]),
        "frac": rng.choice(["½", "¾", "1¼"]), "alt": f"{rng.randint(12, 35) * 100:,}",
        "pan": rng.choice([18, 20, 23, 25, 28, 30]), "factor": rng.choice(["0.75", "1.25", "1.5", "2"]),
        "eggs": rng.randint(2, 5), "day": rng.choice(DAY), "diet": rng.choice(DIET),
        "other": f"{rng.choice(FLAVOUR)} {rng.choice(BASE)}",
    }
    slots["url"] = (f"https://thecrumbjournal.com/recipes/{_slug(dish)}-{rng.randint(100, 999)}/"
                    f"#{spec['anchor']}")
    prompt = [f"Hi Maya! {spec['ask'].format(**slots)}", rng.choice(CONTEXT).format(**slots)]
    bullets = [b.format(**slots) for b in pick(rng, spec["bullets"], rng.randint(3, 5))]
    o = {"prompt": prompt, "greeting": rng.choice(GREETING).format(**slots), "bullets": bullets,
         "close": rng.choice(CLOSE), "zwsp": rng.random() < 0.2, "seed": rng.randrange(2 ** 31)}
    return o


def _render(o: dict, prompt: list[str] | None = None, bullets: list[str] | None = None,
            zwsp: bool | None = None) -> tuple[str, str]:
    prompt = o["prompt"] if prompt is None else prompt
    bullets = o["bullets"] if bullets is None else bullets
    p = " ".join(prompt)
    c = o["greeting"] + "\n\n" + "\n".join(f"• {b}" for b in bullets) + f"\n\n{o['close']}\n"
    if o["zwsp"] if zwsp is None else zwsp:
        r = random.Random(o["seed"])  # the original's zero-width spaces are fixed per family
        p, c = add_zwsp(r, p), add_zwsp(r, c)
    return p, c + FOOTER


def _variant(rng: random.Random, o: dict) -> tuple[str, str, list[str]]:
    ops = choose_ops(rng, ["synonyms", "reorder", "fillers", "typos", "plain_punct", "zwsp", "emoji"], 1, 4)
    prompt, bullets = list(o["prompt"]), list(o["bullets"])
    if "reorder" in ops:
        bullets = reorder(rng, bullets)
        if rng.random() < 0.3:
            prompt = [prompt[0].split("! ", 1)[0] + "! " + prompt[1], prompt[0].split("! ", 1)[1]]
    if "fillers" in ops:
        for i in sorted(rng.sample(range(len(bullets)), rng.randint(1, 2))):
            b = bullets[i]
            bullets[i] = f"{rng.choice(FILLERS)} {b[:1].lower() + b[1:]}"
    p, c = _render(o, prompt, bullets, zwsp=False)
    c = c[: -len(FOOTER)]
    if "synonyms" in ops:
        p, c = THESAURUS.swap(rng, p), THESAURUS.swap(rng, c)
    if "typos" in ops:
        p, c = add_typos(rng, p, rng.randint(0, 1), WORD), add_typos(rng, c, rng.randint(1, 3), WORD)
    if "emoji" in ops:
        if EMOJI.search(p + c) and rng.random() < 0.6:
            p, c = EMOJI.sub("", p), EMOJI.sub("", c)
        else:
            p = p + " " + rng.choice(["😍", "🙏", "👍", "🍋"])
    if "plain_punct" in ops:
        p, c = plain_punct(rng, p), plain_punct(rng, c)
    if "zwsp" in ops or o["zwsp"]:
        p, c = add_zwsp(rng, p), add_zwsp(rng, c)
    return p, c + FOOTER, ops


SALT = 4  # seeds this generator's random stream apart from the others'


def generate(n_families: int = 360, seed: int = 0, shape: str = "prompt_completion",
             declare_family: bool = True) -> PlantedSet:
    """English web-punctuation planted families. Default: 360 families, about 1,300 rows."""
    return build(n_families, seed, "web", shape, declare_family, _original, _variant, _render, salt=SALT)
