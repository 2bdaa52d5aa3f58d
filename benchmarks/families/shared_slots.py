"""Planted families that share a topic vocabulary: every family is assembled from shared slots.

A development set for family inference, harder than `tests/planted/` in one way: no family owns a
word. Each original picks a product, a fault, when it began, a question, an acknowledgement, 3-5
steps and a closer, every one from a pool that all families draw from, so two distinct families
often share the product and the fault and half their steps, and differ only in the combination.
Optionally (`unique_share`) some families also get one detail of their own (a registration, a
booking reference), as real tickets sometimes carry.

Two domains, unlike the IT tickets, shop, bank and recipe sets of `tests/planted/`: a car repair
workshop answering drivers (`garage`) and a hotel front desk answering guests (`hotel`).

Variants are made from the original (never from another variant) by 1 to 4 of: synonym swaps,
reordered steps (and sometimes two adjacent prompt sentences), fillers before 1-2 steps, and 1-3
character typos. Every row ends with the same footer (or, with `footer_share` below 1, the rows of
that share of the families do).

    from shared_slots import generate                    # benchmarks/families on sys.path
    texts, truth = generate("garage", n_families=360, seed=0)
"""
from __future__ import annotations

import random
import re
from collections.abc import Sequence

GARAGE = {
    "greetings": ["Hi there,", "Hello,", "Good morning,", "Hi team,", "Dear workshop,"],
    "products": [
        "my 2015 Ford Focus estate", "our 2019 Toyota Yaris hybrid", "my Volkswagen Golf diesel",
        "the family Skoda Octavia", "my 2012 Honda Civic", "our Nissan Qashqai", "my Kia Sportage",
        "the Vauxhall Corsa I use for work", "my Renault Clio", "our Volvo XC60", "my Mazda 3 hatchback",
        "the Peugeot 308 I bought last year", "my BMW 320d touring", "our Hyundai i30",
    ],
    "faults": [
        "the engine warning light comes on after ten minutes of driving",
        "there is a grinding noise from the front brakes when I slow down",
        "the steering pulls to the left on the motorway",
        "the air conditioning only blows warm air",
        "the battery goes flat if the car sits for two days",
        "it struggles to start on cold mornings",
        "the gearbox jerks when changing from second to third",
        "a rattle comes from under the car over speed bumps",
        "the heater fan only works on the highest setting",
        "the tyre pressure warning stays on after inflating the tyres",
        "coolant keeps disappearing from the expansion tank",
        "the wipers stop halfway across the windscreen",
        "the clutch pedal feels soft and sticks to the floor",
        "there is a smell of burning oil after long journeys",
        "the central locking does not lock the boot",
        "the exhaust has become much louder than usual",
    ],
    "onsets": [
        "It started after the last service.", "This began after a long trip abroad.",
        "It has been getting worse for a month.", "It first happened last weekend.",
        "It started when the weather turned cold.", "It began right after the MOT.",
        "My partner noticed it first a few days ago.", "It comes and goes but is more frequent now.",
    ],
    "questions": [
        "Can you book it in this week?", "Is it safe to keep driving until you can look at it?",
        "Roughly how much would a repair cost?", "Do I need to leave the car with you overnight?",
        "Could you take a look while I wait?", "What should I do before bringing it in?",
    ],
    "acks": [
        "Thanks for getting in touch with the workshop.", "Sorry to hear about the trouble with the car.",
        "Thank you for the detailed description.", "Thanks for the message, we can help with that.",
        "Good that you contacted us early.",
    ],
    "steps": [
        "Check the tyre pressures before you set off.", "Top up the engine oil to the upper mark.",
        "Avoid long journeys until we have inspected the car.", "Bring the service book with you.",
        "Note which warning lights appear on the dashboard.", "Leave the spare key with reception.",
        "Park on level ground so we can check for leaks.", "Drive gently and keep under fifty.",
        "Take a photo of the dashboard when the light is on.", "Remove valuables from the boot.",
        "Let the engine cool for an hour before opening the bonnet.",
        "Check the coolant level when the engine is cold.", "Listen for when exactly the noise starts.",
        "Write down the mileage when the fault appears.", "Switch off the air conditioning on the way in.",
        "Bring the locking wheel nut key.", "Keep the receipt from your last repair.",
        "Charge the battery overnight if you have a charger.", "Do not use the car for towing.",
        "Arrive ten minutes early to fill in the form.", "Clear the windscreen washer bottle of debris.",
        "Make a note of any recent repairs by other garages.", "Check whether the fault happens when the engine is cold.",
        "Use the courtesy car form on our website.", "Keep the heater off if the temperature gauge rises.",
        "Look under the car for drips after parking overnight.", "Call roadside assistance if the car will not start.",
        "Reset the trip computer so we can compare readings.",
    ],
    "closers": [
        "We will call you with a quote before doing any work.", "See you at the workshop soon.",
        "Reply to this message if anything changes before then.", "Our technicians will text you when the car is ready.",
        "Let us know if you need a courtesy car.", "Drive safely and we will take it from there.",
        "Call the front desk if you have to move the booking.",
    ],
    "details": [
        "The registration is {plate}.", "The booking reference is {ref}.", "The car has {miles} miles on the clock.",
    ],
    "footer": ("--\nHillside Motors | Unit 4, Mill Lane Industrial Estate | 01632 960 442\n"
               "Opening hours Mon-Sat 08:00-17:30. Replies to this address are read by the service team."),
    "thesaurus": [
        ["car", "vehicle"], ["check", "inspect", "examine"], ["noise", "sound"], ["book", "schedule"],
        ["journeys", "trips"], ["Drive", "Motor"], ["Bring", "Carry"], ["Avoid", "Skip"],
        ["warning", "alert"], ["quote", "estimate"], ["Thanks", "Many thanks"], ["soon", "shortly"],
        ["gently", "carefully"], ["fault", "problem", "issue"], ["usual", "normal"],
        ["getting worse", "deteriorating"], ["ready", "finished"], ["message", "note"],
    ],
    "fillers": ["By the way,", "Just so you know,", "To be safe,", "Ideally,", "If you can,"],
    "salt": 11,
}

HOTEL = {
    "greetings": ["Good evening,", "Hello,", "Hi,", "Dear front desk,", "Good afternoon,"],
    "products": [
        "our deluxe double room", "the twin room on the third floor", "my single room facing the courtyard",
        "the family suite", "our garden view room", "the executive king room", "my room in the annex",
        "the accessible room near the lift", "our junior suite", "the studio apartment with kitchenette",
        "my superior queen room", "the loft room under the roof",
    ],
    "faults": [
        "the shower runs cold after a minute", "the air conditioning rattles all night",
        "the key card stops working every evening", "the Wi-Fi drops whenever we start a video call",
        "there is a strong smell of smoke in the curtains", "the television has no sound",
        "the safe will not open with our code", "the window does not close properly",
        "the minibar was charged although we used nothing", "the bathroom sink drains very slowly",
        "we can hear the street noise through the wall", "the radiator stays cold",
        "the room was not cleaned yesterday", "the kettle trips the power socket",
    ],
    "onsets": [
        "We checked in yesterday afternoon.", "This started on our second night.",
        "We noticed it as soon as we arrived.", "It has happened three times now.",
        "We are staying until Sunday.", "It began after housekeeping came in this morning.",
        "My colleague in the next room has the same trouble.",
    ],
    "questions": [
        "Could someone come up to fix it today?", "Is it possible to move to another room?",
        "Will this be taken off our bill?", "Can you send maintenance before ten tonight?",
        "What can we do in the meantime?", "Could you call us back when it is sorted?",
    ],
    "acks": [
        "Thank you for letting the front desk know.", "We are sorry for the inconvenience during your stay.",
        "Thanks for your message and apologies for the trouble.", "We appreciate you telling us straight away.",
        "Thank you for staying with us and for the feedback.",
    ],
    "steps": [
        "Keep the do not disturb sign off so our engineer can enter.", "Leave the window slightly open tonight.",
        "Collect a new key card from reception with your passport.", "Use the lobby lounge while we work on the room.",
        "Switch the thermostat to manual mode.", "Let the water run for two minutes before showering.",
        "Restart the router by the desk with the button on its back.", "Place valuables in the safe at reception.",
        "Ask for earplugs at the desk if the noise continues.", "Dial nine for the night manager after midnight.",
        "Keep your minibar receipt for checkout.", "Pack your bags if you would like to move rooms.",
        "Use the guest network instead of the lounge network.", "Tell housekeeping what time suits you tomorrow.",
        "Unplug the kettle and use the socket by the desk.", "Press the reset button inside the safe door.",
        "Close the curtains to keep the room cool.", "Fill in the card on the desk with your preferred breakfast time.",
        "Check the fuse box behind the wardrobe door.", "Call reception on extension zero when you are back.",
        "Leave the bathroom door open to help it air.", "Bring the faulty remote control to the desk.",
        "Note the times the connection drops.", "Send us a photo of the problem through the guest app.",
    ],
    "closers": [
        "We hope the rest of your stay is comfortable.", "Please do not hesitate to call us at any time.",
        "Our duty manager will follow up in the morning.", "We will confirm by text once it is fixed.",
        "Enjoy your evening and thank you for your patience.", "Reception is open around the clock if you need us.",
    ],
    "details": [
        "We are in room {room}.", "The booking is under reference {ref}.", "Our reservation number is {ref}.",
    ],
    "footer": ("--\nThe Linden Hotel | 18 Quay Street | Reception +44 1632 960 118\n"
               "This is an automated copy of your conversation with the front desk."),
    "thesaurus": [
        ["room", "chamber"], ["fix", "repair", "sort out"], ["Keep", "Leave"], ["tonight", "this evening"],
        ["Thank you", "Many thanks"], ["problem", "issue"], ["trouble", "bother"], ["Use", "Try"],
        ["Collect", "Pick up"], ["comfortable", "pleasant"], ["straight away", "right away"],
        ["engineer", "technician"], ["Call", "Phone"], ["morning", "am"], ["cold", "chilly"],
    ],
    "fillers": ["In the meantime,", "If convenient,", "Just in case,", "For now,", "As a precaution,"],
    "salt": 23,
}

DOMAINS = {"garage": GARAGE, "hotel": HOTEL}


def family_sizes(rng: random.Random, n_families: int) -> list[int]:
    """Uneven sizes: most families of 1-4 rows, a few of 5-8 and of 15-22."""
    sizes = []
    for _ in range(n_families):
        u = rng.random()
        sizes.append(rng.randint(1, 2) if u < 0.4 else rng.randint(2, 4) if u < 0.82
                     else rng.randint(5, 8) if u < 0.96 else rng.randint(15, 22))
    return sizes


class _Thesaurus:
    """Word-bounded synonym groups; each occurrence swapped with probability p."""

    def __init__(self, groups: Sequence[Sequence[str]]):
        self.alternatives = {member: [m for m in group if m != member] for group in groups for member in group}
        members = sorted(self.alternatives, key=lambda m: (-len(m), m))
        self.regex = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(m) for m in members) + r")(?!\w)")

    def swap(self, rng: random.Random, text: str, p: float = 0.6) -> str:
        return self.regex.sub(
            lambda m: rng.choice(self.alternatives[m.group(0)]) if rng.random() < p else m.group(0), text
        )


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:] if kind == 1 else word[:i] + word[i] + word[i:]


def _typos(rng: random.Random, text: str, n: int) -> str:
    spans = [m.span() for m in re.finditer(r"[A-Za-z]{4,}", text)]
    for a, b in sorted(rng.sample(spans, min(n, len(spans))), reverse=True):
        text = text[:a] + _typo(rng, text[a:b]) + text[b:]
    return text


def _narrowed(domain: dict, pool_share: float) -> dict:
    """The domain with only the first `pool_share` of each slot pool (fewer choices: more sharing)."""
    slots = ("greetings", "products", "faults", "onsets", "questions", "acks", "steps", "closers")
    return {key: value[:max(2, round(len(value) * pool_share))] if key in slots else value for key, value in domain.items()}


def _original(rng: random.Random, domain: dict, unique_share: float, taken: set) -> dict:
    while True:
        product, fault = rng.choice(domain["products"]), rng.choice(domain["faults"])
        steps = rng.sample(domain["steps"], rng.randint(3, 5))
        key = (product, fault, frozenset(steps))
        if key not in taken:
            taken.add(key)
            break
    prompt = [f"{rng.choice(domain['greetings'])} {product[:1].upper()}{product[1:]} has a problem: {fault}.",
              rng.choice(domain["onsets"]), rng.choice(domain["questions"])]
    if rng.random() < unique_share:
        detail = rng.choice(domain["details"]).format(
            plate=f"{rng.choice('ABCDEFGHKLMNPRSTVWY')}{rng.choice('ABCDEFGHKLMNPRSTVWY')}{rng.randint(10, 99)} "
                  f"{''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(3))}",
            ref=f"{rng.choice(['BK', 'RS', 'HL'])}{rng.randint(100000, 999999)}",
            miles=f"{rng.randint(12, 180)},{rng.randint(100, 999)}", room=str(rng.randint(101, 640)),
        )
        prompt.insert(2, detail)
    return {"prompt": prompt, "ack": rng.choice(domain["acks"]), "steps": steps, "closer": rng.choice(domain["closers"])}


def _render(original: dict, prompt: list[str], steps: list[str]) -> tuple[str, str]:
    body = "\n".join(f"{number}. {step}" for number, step in enumerate(steps, 1))
    return " ".join(prompt), f"{original['ack']}\n{body}\n{original['closer']}\n"


def _variant(rng: random.Random, domain: dict, thesaurus: _Thesaurus, original: dict, footer: str) -> str:
    operations = rng.sample(["synonyms", "reorder", "fillers", "typos"], rng.randint(1, 4))
    prompt, steps = list(original["prompt"]), list(original["steps"])
    if "reorder" in operations:
        before = list(steps)
        while steps == before:
            rng.shuffle(steps)
        if rng.random() < 0.5:
            i = rng.randrange(1, len(prompt) - 1)
            prompt[i], prompt[i + 1] = prompt[i + 1], prompt[i]
    if "fillers" in operations:
        for i in rng.sample(range(len(steps)), rng.randint(1, 2)):
            steps[i] = f"{rng.choice(domain['fillers'])} {steps[i][:1].lower()}{steps[i][1:]}"
    prompt_text, completion = _render(original, prompt, steps)
    if "synonyms" in operations:
        prompt_text, completion = thesaurus.swap(rng, prompt_text), thesaurus.swap(rng, completion)
    if "typos" in operations:
        prompt_text, completion = _typos(rng, prompt_text, rng.randint(0, 1)), _typos(rng, completion, rng.randint(1, 3))
    return f"{prompt_text}\n{completion}{footer}"


def generate(kind: str = "garage", n_families: int = 360, seed: int = 0, unique_share: float = 0.0,
             pool_share: float = 1.0, footer_share: float = 1.0) -> tuple[list[str], list[str]]:
    """(texts, planted family labels), rows shuffled. `unique_share`: the share of families whose
    original carries one detail of its own (a registration, booking reference, room number).
    `pool_share`: draw every slot from the first share of its pool only (0.5: half the products,
    faults, steps, ..., so distinct families share more)."""
    domain = _narrowed(DOMAINS[kind], pool_share)
    rng = random.Random(seed * 1_000_003 + domain["salt"])
    thesaurus = _Thesaurus(domain["thesaurus"])
    rows, taken = [], set()
    for family, size in enumerate(family_sizes(rng, n_families)):
        original = _original(rng, domain, unique_share, taken)
        footer = domain["footer"] if footer_share >= 1.0 or rng.random() < footer_share else ""
        prompt_text, completion = _render(original, original["prompt"], original["steps"])
        label = f"{kind}{family:04d}"
        rows.append((f"{prompt_text}\n{completion}{footer}", label))
        rows += [(_variant(rng, domain, thesaurus, original, footer), label) for _ in range(size - 1)]
    rng.shuffle(rows)
    return [text for text, _ in rows], [label for _, label in rows]


def jaccard_union_find(texts: Sequence[str], threshold: float, max_share: float = 0.5) -> list[int]:
    """The plain baseline: each row's set of lower-cased word 1- and 2-grams without those found in
    more than `max_share` of the rows, Jaccard over all pairs, union-find over pairs at or above
    `threshold`. Quadratic: for the few thousand rows of these sets only."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    shingle_sets = []
    for text in texts:
        words = re.findall(r"\w+", text.lower())
        shingle_sets.append(set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])})
    vocabulary: dict[str, int] = {}
    rows, columns = [], []
    for row, shingles in enumerate(shingle_sets):
        for shingle in shingles:
            rows.append(row)
            columns.append(vocabulary.setdefault(shingle, len(vocabulary)))
    presence = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(texts), len(vocabulary)))
    frequency = np.asarray(presence.sum(axis=0)).ravel()
    presence = presence[:, np.flatnonzero(frequency <= max_share * len(texts))]
    sizes = np.asarray(presence.sum(axis=1)).ravel()
    shared = (presence @ presence.T).toarray()
    jaccard = shared / np.maximum(sizes[:, None] + sizes[None, :] - shared, 1)
    graph = sp.csr_matrix(np.triu(jaccard >= threshold, 1))
    return connected_components(graph, directed=False)[1].tolist()
