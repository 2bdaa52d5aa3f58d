"""A test-only augmenter that plants known families in templated support-desk text.

It imitates what SFT augmentation does to a seed example (synonym swaps, reordered sentences and
steps, inserted filler lines, typos) and adds what makes family inference hard on real data:
every row carries a greeting and a sign-off drawn from one small shared pool, and unrelated
families come from the same few templates, so they share scaffolding and often a slot value.
It is written apart from every data generator of the package so tests do not grade the package
against its own assumptions.
"""
from __future__ import annotations

import random
import re

FIRST_NAMES = (
    "Amara Bilal Chen Dagny Emeka Farah Goran Hana Idris Jonas Keiko Lucia Mateo Nadia Oskar Priya "
    "Quentin Rosa Sami Tamsin Umar Vera Wiktor Ximena Yusuf Zora Aldo Brigid Cyrus Delia Elio Fenna "
    "Gideon Hester Ilse Jovan Kalani Leif Maren Nico Odile Pavel Rhea Soren Thea Ugo Valentin Wren"
).split()
LAST_NAMES = (
    "Abara Brandt Castillo Dubois Eriksen Fontaine Gallo Haddad Ishikawa Jansen Kowalski Lindqvist "
    "Moreau Novak Okafor Petrov Quispe Rahman Santos Tanaka Uribe Varga Weber Xu Yilmaz Zeller"
).split()
PRODUCTS = (
    "kettle blender toaster headphones backpack lamp monitor keyboard router printer scanner "
    "thermostat doorbell camera speaker tablet charger mattress sofa desk chair bicycle helmet "
    "tent stroller juicer vacuum drill ladder grill"
).split()
CITIES = (
    "Lisbon Tallinn Oslo Lagos Austin Quito Hanoi Dakar Perth Porto Krakow Bergen Leeds Lyon "
    "Nairobi Osaka Calgary Tucson Graz Malmo"
).split()
COLOURS = "red blue green black white silver grey orange".split()

# Each template is a prompt (sentences) and a completion (steps); slots in braces.
TEMPLATES = (
    (
        ["My name is {name} and I ordered a {colour} {product} on order {order}.",
         "It was supposed to arrive in {city} last week but it is still not here.",
         "Can you tell me where the package is right now?"],
        ["Thank you {first}, I found order {order} for the {colour} {product}.",
         "The carrier shows it left the depot near {city} two days ago.",
         "I have asked the carrier to deliver it by {day} and will email you the tracking link.",
         "If it does not arrive by then we will send a new {product} at no cost."],
    ),
    (
        ["Hello, this is {name}.",
         "The {product} I bought with order {order} stopped working after {count} days.",
         "I would like a refund of {amount} dollars to my card."],
        ["I am sorry the {product} failed after only {count} days, {first}.",
         "I approved a refund of {amount} dollars for order {order}.",
         "The money should reach your card within {count2} business days.",
         "You do not need to return the broken {product}."],
    ),
    (
        ["I am {name} from {city}.",
         "I need to change the delivery address for order {order} before it ships.",
         "The new address is {number} Harbour Street in {city2}."],
        ["Done, {first}: order {order} will now go to {number} Harbour Street, {city2}.",
         "The change was made before dispatch, so there is no extra fee.",
         "You will get a confirmation message with the new delivery date of {day}."],
    ),
    (
        ["Hi, {name} here.",
         "I was charged twice for order {order}, once for {amount} dollars and again for {amount} dollars.",
         "Please fix the double charge on my account."],
        ["Thanks for flagging this, {first}.",
         "I can see two charges of {amount} dollars on order {order}, and one of them is a mistake.",
         "I reversed the second charge today; your bank may take {count2} days to show it.",
         "Your {product} order itself is unaffected."],
    ),
    (
        ["My {colour} {product} arrived damaged in {city}.",
         "The order number is {order} and my name is {name}.",
         "The box was crushed and one side of the {product} is cracked."],
        ["I am sorry your {product} arrived cracked, {first}.",
         "I have booked a courier to collect it from {city} on {day}.",
         "A replacement {colour} {product} will ship as soon as the courier scans the return.",
         "Please keep the packaging for the courier if you can."],
    ),
    (
        ["Could you help me set up the {product} from order {order}?",
         "I am {name} and the manual only covers model {number}.",
         "The light on the {product} keeps blinking {colour}."],
        ["Happy to help, {first}.",
         "A blinking {colour} light on model {number} means the {product} has not paired yet.",
         "Hold the reset button for {count} seconds, then pair it again from the app.",
         "If the light is still {colour} afterwards, reply with the serial number and we will swap it."],
    ),
)

DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday".split()

SYNONYMS = {
    "ordered": ["bought", "purchased"], "bought": ["ordered", "purchased"], "package": ["parcel", "delivery", "shipment"],
    "arrive": ["show up", "be delivered"], "still": ["yet"], "tell": ["let", "inform"], "right": ["just"],
    "stopped": ["quit", "ceased"], "working": ["functioning", "operating"], "refund": ["reimbursement", "repayment"],
    "money": ["funds", "amount"], "reach": ["arrive on", "get to"], "need": ["want", "have"], "change": ["update", "modify"],
    "new": ["updated", "fresh"], "charged": ["billed"], "fix": ["correct", "resolve", "sort out"], "mistake": ["error"],
    "damaged": ["broken", "harmed"], "crushed": ["squashed", "dented"], "cracked": ["split", "broken"],
    "help": ["assist", "support"], "manual": ["guide", "handbook"], "sorry": ["apologetic", "regretful"],
    "found": ["located", "tracked down"], "shows": ["indicates", "says"], "asked": ["requested", "told"],
    "approved": ["authorised", "granted"], "broken": ["faulty", "defective"], "confirmation": ["notification"],
    "booked": ["arranged", "scheduled"], "collect": ["pick up", "fetch"], "replacement": ["substitute", "new unit"],
    "soon": ["quickly"], "keeps": ["continues"], "means": ["signals", "indicates"], "swap": ["replace", "exchange"],
    "please": ["kindly"], "happy": ["glad", "pleased"], "unaffected": ["fine", "not affected"], "today": ["just now"],
}
GREETINGS = ("Hi team,", "Hello there,", "Good morning,", "Dear support,", "Hey,")
SIGNOFFS = ("Thanks in advance!", "Best regards.", "Kind regards, and thank you.", "Cheers.", "Many thanks for your help.")
FILLERS = (
    "I hope this message finds you well.", "Sorry for the trouble.", "This is quite urgent for us.",
    "Please let me know if you need anything else.", "I have been a customer for years.",
    "Let me know if anything is unclear.", "We appreciate your patience.", "Thanks for reaching out to us.",
)
ASSISTANT_OPENERS = ("Thanks for contacting us.", "Hello and thank you for writing.", "Good to hear from you.")


def _slots(rng: random.Random) -> dict[str, str]:
    first = rng.choice(FIRST_NAMES)
    city, city2 = rng.sample(CITIES, 2)
    count = rng.randint(2, 30)
    return {
        "first": first, "name": f"{first} {rng.choice(LAST_NAMES)}", "product": rng.choice(PRODUCTS),
        "colour": rng.choice(COLOURS), "city": city, "city2": city2, "order": f"{rng.randint(10000, 99999)}",
        "number": str(rng.randint(100, 999)), "amount": str(rng.randint(15, 900)), "count": str(count),
        "count2": str(rng.randint(2, 10)), "day": rng.choice(DAYS),
    }


def _typo(word: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:position] + word[position + 1] + word[position] + word[position + 2:]
    return word[:position] + word[position + 1:]


def _perturb_words(sentence: str, rng: random.Random, synonym_rate: float, typo_rate: float) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        options = SYNONYMS.get(word.lower())
        if options and rng.random() < synonym_rate:
            return rng.choice(options)
        if len(word) >= 5 and rng.random() < typo_rate:
            return _typo(word, rng)
        return word

    return re.sub(r"[A-Za-z]+", swap, sentence)


def _augment(sentences: list[str], rng: random.Random, synonym_rate: float, typo_rate: float, reorder: bool) -> list[str]:
    lines = [_perturb_words(sentence, rng, synonym_rate, typo_rate) for sentence in sentences]
    if reorder and rng.random() < 0.6:
        rng.shuffle(lines)
    for _ in range(rng.randint(0, 2)):
        lines.insert(rng.randint(0, len(lines)), rng.choice(FILLERS))
    return lines


def planted_rows(
    n_families: int,
    *,
    min_size: int = 1,
    max_size: int = 8,
    seed: int = 0,
    synonym_rate: float = 0.4,
    typo_rate: float = 0.05,
    shuffle: bool = True,
) -> list[dict[str, str]]:
    """Rows `{id, prompt, completion, family}` with `n_families` planted families of random sizes."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for family_index in range(n_families):
        prompt_template, completion_template = rng.choice(TEMPLATES)
        slots = _slots(rng)
        prompt = [line.format(**slots) for line in prompt_template]
        completion = [line.format(**slots) for line in completion_template]
        for member in range(rng.randint(min_size, max_size)):
            prompt_lines = [rng.choice(GREETINGS), *_augment(prompt, rng, synonym_rate, typo_rate, True), rng.choice(SIGNOFFS)]
            completion_lines = [rng.choice(ASSISTANT_OPENERS), *_augment(completion, rng, synonym_rate, typo_rate, True)]
            rows.append({
                "id": f"r{family_index:06d}-{member}",
                "prompt": "\n".join(prompt_lines),
                "completion": "\n".join(completion_lines),
                "family": f"planted-{family_index:06d}",
            })
    if shuffle:
        rng.shuffle(rows)
    return rows


def planted_texts(n_families: int, **kwargs) -> tuple[list[str], list[str]]:
    """Texts (prompt and completion joined as `Record.full_text` does) and their planted families."""
    rows = planted_rows(n_families, **kwargs)
    return [f"{row['prompt']}\n{row['completion']}" for row in rows], [row["family"] for row in rows]
