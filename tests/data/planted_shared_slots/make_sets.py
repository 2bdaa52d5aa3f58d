#!/usr/bin/env python3
"""Planted augmentation families built from SHARED slot vocabularies.

Each family is one original row: a combination of slots drawn from vocabularies that every family
of the set shares (product, fault, troubleshooting steps, policy sentences, closers, ...) plus the
family's own details (names, error codes, order and ticket numbers, dates, amounts and one or two
sentences composed for that family alone). The other members of a family are augmented variants of
its original: synonym swaps, sentence reordering, inserted fillers, typos (character swaps, drops,
doublings, neighbouring keys) and one shared footer appended to many rows of every family.

Run from anywhere: ``python tests/data/planted_shared_slots/make_sets.py``. It rewrites the JSONL
files beside it (deterministic: seeded ``random.Random``, standard library only) and prints, per
set, the rows, families, family sizes and the share of word 3-grams of the originals that occur in
the originals of two families or more.

Truth is in the field ``planted``; no row has a ``family`` field.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------------
# Shared, domain-independent material
# --------------------------------------------------------------------------------------------------

FIRST_NAMES = [
    "Amara", "Bilal", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tariq",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zara", "Aidan", "Beatriz", "Callum", "Daria",
    "Emeka", "Fiona", "Goran", "Hana", "Ivo", "Jade", "Kofi", "Lena", "Marco", "Nadia",
    "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Ursula", "Vikram", "Wanda", "Yara", "Zoltan",
]
LAST_NAMES = [
    "Okafor", "Haddad", "Lindqvist", "Petrov", "Moreau", "Nakamura", "Brennan", "Castillo",
    "Dubois", "Eriksen", "Fischer", "Gallagher", "Horvat", "Iqbal", "Jansen", "Kowalski",
    "Laine", "Mbeki", "Novak", "Oyelaran", "Pereira", "Quist", "Rinaldi", "Sato", "Toivonen",
    "Ueda", "Varga", "Whitfield", "Yilmaz", "Zielinski", "Ashworth", "Bergstrom", "Coelho",
    "Delacroix", "Esposito", "Fairbanks", "Grieve", "Hollis", "Ivanova", "Kerrigan",
]
CITIES = [
    "Aberdeen", "Bruges", "Cork", "Dortmund", "Eindhoven", "Florence", "Gdansk", "Harrogate",
    "Innsbruck", "Jyvaskyla", "Krakow", "Lyon", "Malmo", "Nantes", "Oporto", "Plymouth",
    "Reims", "Seville", "Tampere", "Utrecht", "Valencia", "Wroclaw", "York", "Zagreb",
    "Bristol", "Galway", "Leipzig", "Bergen", "Turin", "Lisbon",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
RELATIVES = ["sister", "brother", "mother", "father", "grandmother", "nephew", "niece", "cousin",
             "aunt", "uncle", "daughter", "son", "partner", "godson"]

# Synonyms that apply in every domain (keys are matched as whole words, case-insensitively).
COMMON_SYNONYMS = {
    "please": ["kindly", "if you could"],
    "problem": ["issue", "trouble", "fault"],
    "issue": ["problem", "trouble"],
    "cannot": ["can't", "am unable to", "can not"],
    "can't": ["cannot", "am not able to"],
    "again": ["once more", "one more time"],
    "help": ["support", "assistance"],
    "thanks": ["thank you", "cheers", "many thanks"],
    "thank you": ["thanks", "many thanks"],
    "started": ["began", "kicked off"],
    "quickly": ["fast", "promptly", "soon"],
    "need": ["require", "must have"],
    "would like": ["want", "wish"],
    "could you": ["can you", "would you"],
    "let us know": ["tell us", "drop us a line"],
    "let me know": ["tell me", "keep me posted"],
    "every time": ["each time", "whenever I try"],
    "since": ["ever since"],
    "today": ["this day", "right now"],
    "yesterday": ["the day before", "last day"],
    "working": ["functioning", "running"],
    "stopped": ["quit", "ceased"],
    "received": ["got", "was sent"],
    "send": ["ship", "post"],
    "check": ["verify", "look at", "confirm"],
    "make sure": ["ensure", "double-check"],
    "hi": ["hello", "hey", "good morning"],
    "hello": ["hi", "dear", "good afternoon"],
    "regards": ["best wishes", "all the best"],
    "kind regards": ["best regards", "warm regards", "many thanks"],
    "sorry": ["apologies", "my apologies"],
    "as soon as possible": ["asap", "at your earliest convenience", "soon"],
    "appointment": ["booking", "visit"],
    "message": ["note", "email"],
    "email": ["e-mail", "mail", "message"],
    "also": ["additionally", "in addition"],
    "really": ["truly", "very much"],
    "very": ["extremely", "really"],
    "still": ["yet", "even now"],
    "again and again": ["repeatedly", "over and over"],
    "after": ["following", "right after"],
    "before": ["ahead of", "prior to"],
    "fix": ["sort out", "resolve", "repair"],
    "fixed": ["sorted", "resolved"],
    "tried": ["attempted", "had a go at"],
    "told": ["informed", "advised"],
    "usually": ["normally", "typically"],
    "soon": ["shortly", "in a while"],
}

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Neighbouring keys on a QWERTY keyboard, for "fat finger" typos.
NEIGHBOURS = {
    "a": "qsz", "b": "vgn", "c": "xdv", "d": "sfe", "e": "wrd", "f": "dgr", "g": "fht", "h": "gjy",
    "i": "uok", "j": "hku", "k": "jli", "l": "kop", "m": "nj", "n": "bmh", "o": "ipl", "p": "ol",
    "q": "wa", "r": "etf", "s": "adw", "t": "ryg", "u": "yij", "v": "cbf", "w": "qes", "x": "zsc",
    "y": "tuh", "z": "xa",
}


def cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def lower_first(text: str) -> str:
    if text.startswith(("I ", "I'")):
        return text
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[:1].lower() + text[1:]
    return text


# --------------------------------------------------------------------------------------------------
# The augmenter
# --------------------------------------------------------------------------------------------------


class Augmenter:
    """Makes one variant of a side (a list of sentences) at a given strength in [0, 1]."""

    def __init__(self, synonyms: dict[str, list[str]], fillers: list[str], prefixes: list[str]):
        self.synonyms = {k.lower(): v for k, v in synonyms.items()}
        keys = sorted(self.synonyms, key=len, reverse=True)
        self.pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b", re.I)
        self.fillers = fillers
        self.prefixes = prefixes

    def synonym_swap(self, text: str, rng: random.Random, rate: float) -> str:
        def swap(match: re.Match) -> str:
            word = match.group(0)
            if rng.random() >= rate:
                return word
            new = rng.choice(self.synonyms[word.lower()])
            if word[0].isupper():
                new = cap(new)
            return new

        return self.pattern.sub(swap, text)

    @staticmethod
    def typo(text: str, rng: random.Random, rate: float) -> str:
        def hit(match: re.Match) -> str:
            word = match.group(0)
            if rng.random() >= rate:
                return word
            i = rng.randrange(1, len(word) - 1)
            op = rng.random()
            if op < 0.35:  # swap two neighbouring characters
                return word[:i] + word[i + 1] + word[i] + word[i + 2:]
            if op < 0.65:  # drop one
                return word[:i] + word[i + 1:]
            if op < 0.8:  # double one
                return word[:i] + word[i] + word[i:]
            ch = word[i].lower()
            return word[:i] + rng.choice(NEIGHBOURS.get(ch, LETTERS)) + word[i + 1:]

        return re.sub(r"\b[A-Za-z]{4,}\b", hit, text)

    def variant(self, sentences: list[str], rng: random.Random, strength: float,
                fixed_head: int = 1, fixed_tail: int = 1) -> str:
        """Reorder the middle sentences, insert fillers, swap synonyms, add typos."""
        s = strength
        head = sentences[:fixed_head]
        tail = sentences[len(sentences) - fixed_tail:] if fixed_tail else []
        middle = sentences[fixed_head:len(sentences) - fixed_tail if fixed_tail else None]
        middle = list(middle)
        # Sentence reordering: a full shuffle when strong, one or two adjacent swaps otherwise.
        if len(middle) > 1 and rng.random() < 0.3 + 0.6 * s:
            if rng.random() < s:
                rng.shuffle(middle)
            else:
                for _ in range(rng.randint(1, 2)):
                    i = rng.randrange(len(middle) - 1)
                    middle[i], middle[i + 1] = middle[i + 1], middle[i]
        # Discourse prefixes on some sentences.
        for i, sentence in enumerate(middle):
            if rng.random() < 0.25 * s:
                middle[i] = rng.choice(self.prefixes) + lower_first(sentence)
        # Inserted filler sentences.
        n_fillers = min(len(self.fillers), rng.randint(0, 1 + round(2 * s)))
        for filler in rng.sample(self.fillers, n_fillers):
            middle.insert(rng.randint(0, len(middle)), filler)
        text = " ".join(head + middle + tail)
        text = self.synonym_swap(text, rng, 0.25 + 0.6 * s)
        text = self.typo(text, rng, 0.01 + 0.09 * s)
        return text


def family_sizes(rng: random.Random, n_families: int) -> list[int]:
    """Uneven sizes: a few large families (15-25), some medium (6-12), many small (1-5)."""
    n_large = rng.randint(3, 5)
    n_medium = n_families // 5
    sizes = [rng.randint(15, 25) for _ in range(n_large)]
    sizes += [rng.randint(6, 12) for _ in range(n_medium)]
    small = [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5]
    sizes += [rng.choice(small) for _ in range(n_families - n_large - n_medium)]
    rng.shuffle(sizes)
    return sizes


def pick_strength(rng: random.Random) -> float:
    # Mostly moderate, some light, some heavy variants.
    return min(0.95, max(0.15, rng.betavariate(2.2, 2.2)))


# --------------------------------------------------------------------------------------------------
# Domain 1: IT help-desk tickets (plain prompt/completion)
# --------------------------------------------------------------------------------------------------

IT_PRODUCTS = [
    "Outlook", "the VPN client", "Microsoft Teams", "the docking station", "the office printer",
    "SharePoint", "Zoom", "the SAP client", "OneDrive", "the expense portal",
]
IT_FAULTS = [
    "{P} keeps crashing a few seconds after I open it.",
    "{P} will not let me sign in and just loops back to the login page.",
    "{P} has been extremely slow since this morning.",
    "{P} shows a blank white screen when it starts.",
    "{P} stopped working after last night's update.",
    "{P} disconnects every ten minutes or so.",
    "{P} says my licence has expired.",
    "{P} freezes whenever I try to save anything.",
    "{P} asks for my password again and again.",
]
IT_ERROR_LINES = [
    "The error message says {C}.",
    "I get error {C} every time.",
    "On screen it shows the code {C}.",
]
IT_IMPACT = [
    "This is blocking my work today.",
    "It is not urgent but it is very annoying.",
    "Several people in my team have the same problem.",
    "I have already restarted my laptop twice.",
]
IT_STEPS = [
    "Please close {P} completely and restart your laptop.",
    "Clear the cached credentials in Windows Credential Manager.",
    "Make sure you are connected to the corporate network or the VPN.",
    "Open the Company Portal app and run a sync.",
    "Sign out of all Microsoft 365 apps and sign back in.",
    "Check that your laptop date and time are set automatically.",
    "Remove your account from {P} and add it again.",
    "Install the pending updates from Software Center and reboot.",
    "Unplug the dock for thirty seconds and reconnect it.",
    "Try the web version while we look into it.",
    "Run the network reset under Settings and reconnect.",
    "Reply with a screenshot of the full error message.",
]
IT_CLOSERS = [
    "If the problem persists, reply to this email and we will escalate it.",
    "Let us know if that sorts it out.",
    "We will close the ticket in three days if we do not hear back.",
    "Thanks for your patience while we look into this.",
    "Feel free to call the service desk if you need more help.",
]
IT_EVENTS = [
    "after {N} from {D} moved my desk to {R}",
    "right after I plugged in a new {V}",
    "when I came back from the {Y} office",
    "once I changed my password on the {Q}",
    "after {N} shared a {V} with me for the {J} project",
    "when the {D} team rolled out the new {V}",
    "the moment I connected to the guest network in {R}",
    "after I restored my files from the {Y} backup",
]
IT_DEPTS = ["Finance", "Legal", "Facilities", "Marketing", "Procurement", "HR", "Logistics",
            "Research", "Sales", "Compliance", "Payroll", "Security"]
IT_DEVICES = ["webcam", "headset", "USB-C hub", "second monitor", "smart card reader", "keyboard",
              "wireless mouse", "label printer", "document scanner", "laptop stand", "spreadsheet",
              "calendar", "dashboard", "notebook", "mailbox"]
IT_PORTALS = ["HR portal", "self-service page", "Okta page", "intranet", "payroll site"]
IT_PROJECTS = ["Falcon", "Juniper", "Meridian", "Atlas", "Quarry", "Bluebell", "Harbour",
               "Saffron", "Kestrel", "Tundra", "Orchid", "Basalt", "Cobalt", "Lantern"]
IT_DEADLINES = [
    "I need it working before my {M} with {K} at {T}.",
    "I have to send the {J} figures to {K} by {T}.",
    "{N} from {D} is waiting on me to finish the {J} report by {T}.",
]
IT_MEETINGS = ["quarterly review", "board call", "supplier demo", "budget meeting", "audit call",
               "client workshop", "training session", "interview panel"]
IT_CLIENTS = ["Halvorsen Shipping", "Brightwater Foods", "Caldera Mining", "Dunmore Insurance",
              "Everly Textiles", "Fernhill Logistics", "Granite Bay Bank", "Holloway Pharma",
              "Ironbridge Energy", "Juno Media", "Kingsway Rail", "Larkspur Hotels",
              "Moorland Dairy", "Northgate Retail", "Oakridge Labs", "Pinecrest Foods"]
IT_CAUSES = ["an expired certificate", "a stale profile", "a blocked port", "a duplicate device record",
             "a disabled token", "a corrupted cache", "a wrong proxy setting", "a full mailbox quota",
             "a mismatched driver", "an old group policy"]
IT_ACTIONS = ["reissued the certificate", "rebuilt your profile", "opened the port on the firewall",
              "removed the duplicate record", "re-enabled your token", "purged the server cache",
              "pushed the correct proxy setting", "raised your quota to 100 GB",
              "rolled back the driver", "refreshed the group policy"]
IT_FOOTER = (
    "-- Sent from the Northwind IT Service Portal. This mailbox is monitored Monday to Friday, "
    "8am to 6pm. For urgent outages call extension 4400. Please do not remove the ticket number "
    "from the subject line when replying."
)
IT_SYNONYMS = {
    **COMMON_SYNONYMS,
    "laptop": ["notebook", "machine", "computer"],
    "crashing": ["closing unexpectedly", "falling over"],
    "slow": ["sluggish", "laggy"],
    "sign in": ["log in", "log on"],
    "restart": ["reboot", "restart"],
    "reboot": ["restart"],
    "error": ["fault", "failure"],
    "screen": ["display", "window"],
    "update": ["patch", "upgrade"],
    "password": ["passcode", "login password"],
    "annoying": ["frustrating", "irritating"],
    "ticket": ["request", "case"],
    "reconnect": ["connect again", "plug it back"],
    "blocking": ["holding up", "stopping"],
    "team": ["group", "department"],
    "freezes": ["hangs", "locks up"],
    "my desk": ["my workstation", "my seat"],
    "moved": ["relocated", "shifted"],
}
IT_FILLERS_USER = ["Hope that makes sense.", "Sorry for the long message.", "Thanks in advance.",
                   "Any help is appreciated.", "Just wanted to flag this.",
                   "Not sure if this is the right queue."]
IT_FILLERS_AGENT = ["I hope this helps.", "Sorry for the trouble.", "Thanks for reporting it.",
                    "We appreciate the detail you gave us.", "Happy to help further."]
IT_PREFIXES = ["Also, ", "By the way, ", "To be honest, ", "Just so you know, ", "Basically, ",
               "Anyway, "]


def it_code(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return "0x8004%04X" % rng.randrange(16 ** 4)
    if kind == 1:
        return "ERR-%04d" % rng.randrange(10 ** 4)
    if kind == 2:
        return "AADSTS%05d" % rng.randrange(10 ** 5)
    return "E%03d-%s" % (rng.randrange(1000), rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ"))


def it_time(rng: random.Random) -> str:
    return "%d:%02d %s on %s" % (rng.randint(1, 12), rng.choice([0, 15, 30, 45]),
                                rng.choice(["am", "pm"]), rng.choice(WEEKDAYS))


def it_original(rng: random.Random) -> tuple[dict, dict]:
    product = rng.choice(IT_PRODUCTS)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    code = it_code(rng)
    tag = "NW-%05d" % rng.randrange(10 ** 5)
    ticket = "INC%07d" % rng.randrange(10 ** 7)
    fill = {
        "P": product, "C": code,
        "N": rng.choice(FIRST_NAMES), "D": rng.choice(IT_DEPTS),
        "R": "room %d%s" % (rng.randint(100, 699), rng.choice("ABCDEF")),
        "V": rng.choice(IT_DEVICES), "Y": rng.choice(CITIES), "Q": rng.choice(IT_PORTALS),
        "J": rng.choice(IT_PROJECTS), "M": rng.choice(IT_MEETINGS), "K": rng.choice(IT_CLIENTS),
        "T": it_time(rng),
    }
    event = rng.choice(IT_EVENTS).format(**fill)
    opener = rng.choice(["It started", "This began", "The trouble started", "It first happened"])
    user = [
        rng.choice(["Hi team,", "Hello IT,", "Hi,", "Good morning,"]),
        cap(rng.choice(IT_FAULTS).format(P=product)),
        rng.choice(IT_ERROR_LINES).format(C=code),
        f"{opener} {event} on {rng.choice(WEEKDAYS)}.",
        rng.choice(IT_DEADLINES).format(**fill),
    ]
    if rng.random() < 0.6:
        user.append(rng.choice(IT_IMPACT))
    user.append(f"My asset tag is {tag}.")
    user.append(f"Thanks, {first} {last}")
    cause_i = rng.randrange(len(IT_CAUSES))
    steps = rng.sample(IT_STEPS, rng.randint(2, 3))
    agent = [
        f"Hi {first}, thanks for raising ticket {ticket}.",
        f"I can see that {code} on asset {tag} comes from {IT_CAUSES[cause_i]}.",
        f"I have {IT_ACTIONS[cause_i]} for you.",
        *[s.format(P=product) for s in steps],
        rng.choice(IT_CLOSERS),
        "Kind regards, Northwind Service Desk",
    ]
    return {"user": user}, {"agent": agent}


def it_render(rng, user, agent, strength, aug_user, aug_agent, footer):
    if strength is None:
        prompt, completion = " ".join(user["user"]), " ".join(agent["agent"])
    else:
        prompt = aug_user.variant(user["user"], rng, strength)
        completion = aug_agent.variant(agent["agent"], rng, strength * rng.uniform(0.6, 1.0))
    if footer:
        prompt = prompt + "\n\n" + IT_FOOTER
    return {"prompt": prompt, "completion": completion}


# --------------------------------------------------------------------------------------------------
# Domain 2: e-commerce customer emails (chat messages with one system prompt in every row)
# --------------------------------------------------------------------------------------------------

SHOP_SYSTEM = ("You are the customer care assistant for Brightcart. Answer politely, follow the "
               "returns policy and always quote the order number.")
SHOP_PRODUCTS = [
    "the Aero 2 cordless kettle", "the Luma noise-cancelling headphones",
    "a pair of Trailstep running shoes", "the Cosy Knit throw blanket", "the Orbit smart watch",
    "the Pebble bluetooth speaker", "the Nimbus air fryer", "a Summit hiking backpack",
    "the Vela desk lamp",
]
SHOP_ISSUES = [
    "The box arrived crushed and the item inside is damaged.",
    "I received the wrong colour.",
    "It has not arrived even though the tracking says it was delivered.",
    "I was charged twice for it.",
    "It stopped working after a week.",
    "A part is missing from the box.",
    "It is smaller than the size guide suggested.",
    "It looks nothing like the photos on your website.",
]
SHOP_REQUESTS = [
    "I would like a full refund please.",
    "Could you send me a replacement?",
    "Can I exchange it for a different one?",
    "Please tell me how to return it.",
]
SHOP_STORY = [
    "It was meant to be a {O} present for my {REL} {N} in {Y}.",
    "I bought it for my {REL}'s {O} and now I have to explain to {N} why it is late.",
    "My {REL} {N} had been asking for one since the {O} sale in {Y}.",
]
SHOP_OCCASIONS = ["birthday", "wedding", "anniversary", "graduation", "retirement",
                  "housewarming", "christening", "Christmas", "Eid", "Diwali"]
SHOP_COURIERS = ["Parcelwise", "SwiftDrop", "Evri", "DPD", "Royal Mail", "Yodel"]
SHOP_POLICY = [
    "Refunds are issued to the original payment method within five to seven business days.",
    "We have emailed you a prepaid return label.",
    "There is no need to send back the damaged item.",
    "Replacements usually ship within two working days.",
    "You can follow the return from the Orders page of your account.",
    "Please keep the original packaging until the case is closed.",
    "Exchanges are free of charge within thirty days of delivery.",
    "Our courier will collect the parcel from your address at no cost.",
]
SHOP_APOLOGIES = [
    "I am very sorry that your order did not arrive as expected.",
    "Sorry about this, that is not the experience we want you to have.",
    "I apologise for the trouble with this order.",
]
SHOP_CLOSERS = [
    "Is there anything else I can help you with today?",
    "Thank you for shopping with Brightcart.",
    "Have a lovely rest of your week.",
    "We hope to see you again soon.",
]
SHOP_ACTIONS = ["issued a refund of {A}", "added a goodwill credit of {A}",
                "reversed the duplicate charge of {A}", "set aside a new unit worth {A}"]
SHOP_FOOTER = (
    "This conversation may be recorded for quality and training purposes. Brightcart Ltd, "
    "12 Harbour Street, Leeds LS1 4AB. Registered in England and Wales, company no. 08812345. "
    "Manage your email preferences from your account settings."
)
SHOP_SYNONYMS = {
    **COMMON_SYNONYMS,
    "refund": ["reimbursement", "money back"],
    "replacement": ["new one", "substitute"],
    "damaged": ["broken", "smashed"],
    "arrived": ["turned up", "came"],
    "wrong": ["incorrect", "mistaken"],
    "colour": ["color", "shade"],
    "charged": ["billed"],
    "present": ["gift"],
    "box": ["package", "carton"],
    "parcel": ["package", "shipment"],
    "website": ["site", "web shop"],
    "order": ["purchase"],
    "exchange": ["swap"],
    "explain": ["tell"],
    "photos": ["pictures", "images"],
    "smaller": ["tinier", "more compact"],
    "business days": ["working days"],
    "working days": ["business days"],
    "apologise": ["apologize", "am sorry"],
    "lovely": ["nice", "great"],
}
SHOP_FILLERS_USER = ["I am really disappointed.", "I have been a customer for years.",
                     "Thanks for reading.", "Hope you can sort this out.", "This is my second email.",
                     "I look forward to your reply."]
SHOP_FILLERS_AGENT = ["Thank you for your patience.", "I completely understand your frustration.",
                      "Thanks for letting us know.", "I hope this helps."]
SHOP_PREFIXES = ["Also, ", "To be fair, ", "Honestly, ", "On top of that, ", "Anyway, ",
                 "As I said, "]


def shop_original(rng: random.Random) -> tuple[dict, dict]:
    product = rng.choice(SHOP_PRODUCTS)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    order = "BC-%06d" % rng.randrange(10 ** 6)
    amount = "£%d.%02d" % (rng.randint(12, 240), rng.randrange(100))
    date = "%d %s" % (rng.randint(1, 28), rng.choice(MONTHS))
    city = rng.choice(CITIES)
    case = "CS-%05d" % rng.randrange(10 ** 5)
    fill = {"O": rng.choice(SHOP_OCCASIONS), "REL": rng.choice(RELATIVES),
            "N": rng.choice(FIRST_NAMES), "Y": rng.choice(CITIES)}
    user = [
        rng.choice(["Hello,", "Hi there,", "Dear Brightcart,", "Good afternoon,"]),
        f"I ordered {product} under order {order} on {date}.",
        rng.choice(SHOP_ISSUES),
        f"I paid {amount} and {rng.choice(SHOP_COURIERS)} was supposed to deliver it to {city}.",
        rng.choice(SHOP_STORY).format(**fill),
        rng.choice(SHOP_REQUESTS),
        f"Regards, {first} {last}",
    ]
    agent = [
        f"Dear {first}, thank you for contacting Brightcart about order {order}.",
        rng.choice(SHOP_APOLOGIES),
        f"I have {rng.choice(SHOP_ACTIONS).format(A=amount)} and opened case {case} for you.",
        *rng.sample(SHOP_POLICY, rng.randint(2, 3)),
        rng.choice(SHOP_CLOSERS),
        "Kind regards, the Brightcart care team",
    ]
    return {"user": user}, {"agent": agent}


def shop_render(rng, user, agent, strength, aug_user, aug_agent, footer):
    if strength is None:
        u, a = " ".join(user["user"]), " ".join(agent["agent"])
    else:
        u = aug_user.variant(user["user"], rng, strength)
        a = aug_agent.variant(agent["agent"], rng, strength * rng.uniform(0.6, 1.0))
    if footer:
        a = a + "\n\n" + SHOP_FOOTER
    return {"messages": [{"role": "system", "content": SHOP_SYSTEM},
                         {"role": "user", "content": u},
                         {"role": "assistant", "content": a}]}


# --------------------------------------------------------------------------------------------------
# Domain 3: medical appointment messages (conversational prompt/completion)
# --------------------------------------------------------------------------------------------------

MED_DEPTS = ["cardiology", "dermatology", "physiotherapy", "the diabetes clinic", "orthopaedics",
             "the ENT clinic", "the eye clinic", "the antenatal clinic"]
MED_REQUESTS = [
    "I need to reschedule my appointment with {P}.",
    "I would like to cancel my appointment with {P}.",
    "Could I get a repeat prescription from {P}?",
    "I am still waiting for my test results from {P}.",
    "I need a referral letter for {P}.",
    "Can I book a follow-up visit with {P}?",
]
MED_REASONS = [
    "I cannot make it because my {REL} {N} is {E} in {Y} that week.",
    "My {REL} {N} was {E} and I have to stay with them in {Y}.",
    "I will be in {Y} for {W} until the {DAY} of {MON}.",
    "My shifts at the {JOB} changed and I now work until {H} on {WD}.",
]
MED_EVENTS = ["having surgery", "getting married", "moving house", "starting chemotherapy",
              "giving birth", "being discharged", "flying home"]
MED_WORK = ["a work conference", "a family funeral", "a training course", "a court hearing",
            "my exams", "a sailing trip"]
MED_JOBS = ["bakery", "warehouse", "care home", "airport", "call centre", "school kitchen",
            "garden centre", "fire station", "bus depot", "pharmacy"]
MED_SYMPTOMS = [
    "The {B} has been worse since {WD}.",
    "I still get the {S} in my {B} at night.",
    "The new {MED} makes me feel {F} in the mornings.",
]
MED_BODY = ["left knee", "right shoulder", "lower back", "chest", "left ear", "right eye", "ankle",
            "wrist", "neck", "skin on my hands"]
MED_SYMPTOM_WORDS = ["sharp pain", "itching", "swelling", "tightness", "ringing", "numbness"]
MED_MEDICINES = ["tablets", "inhaler", "cream", "eye drops", "injection pen", "patches"]
MED_FEELINGS = ["dizzy", "sick", "tired", "shaky", "thirsty"]
MED_INSTRUCTIONS = [
    "Please arrive fifteen minutes early to check in.",
    "Bring your insurance card and a list of your current medicines.",
    "If you have a fever or a cough, call us before coming in.",
    "Parking is free for patients in car park B.",
    "You can also manage your appointments in the patient app.",
    "You do not need to fast before this visit unless you were told otherwise.",
    "Results are usually released to the patient app within ten working days.",
]
MED_CLOSERS = [
    "If you have any questions, reply to this message.",
    "We look forward to seeing you.",
    "Take care and get well soon.",
    "Please let us know if anything changes.",
]
MED_DOCTORS = ["Adeyemi", "Bjork", "Chandra", "Delgado", "Engel", "Fontaine", "Gupta", "Heller",
               "Ishikawa", "Jovanovic", "Khalil", "Lorenz", "Mensah", "Nilsen", "Ortega", "Pillai"]
MED_FOOTER = (
    "This message is confidential and intended only for the named patient. If you received it in "
    "error, please delete it and tell us. In an emergency call 999; this inbox is not monitored "
    "out of hours. Riverside Health NHS Trust."
)
MED_SYNONYMS = {
    **COMMON_SYNONYMS,
    "reschedule": ["move", "rebook", "change"],
    "cancel": ["call off", "drop"],
    "prescription": ["script", "prescription refill"],
    "results": ["report", "findings"],
    "referral letter": ["referral", "letter of referral"],
    "follow-up": ["review", "check-up"],
    "arrive": ["come", "turn up"],
    "medicines": ["medications", "drugs"],
    "pain": ["ache", "soreness"],
    "worse": ["more painful", "bad"],
    "feel": ["get"],
    "questions": ["queries", "concerns"],
    "visit": ["consultation", "appointment"],
    "stay with": ["look after", "be with"],
    "changed": ["moved", "switched"],
    "night": ["bedtime", "nighttime"],
    "mornings": ["morning", "early hours"],
}
MED_FILLERS_USER = ["Sorry to bother you.", "I hope this is the right address.",
                    "Thank you for your understanding.", "I tried calling but nobody answered.",
                    "Many thanks for your help."]
MED_FILLERS_AGENT = ["Thank you for letting us know.", "We understand.", "Thanks for your patience.",
                     "Sorry for the wait."]
MED_PREFIXES = ["Also, ", "Just so you know, ", "By the way, ", "Unfortunately, ", "As well, "]


def med_date(rng: random.Random) -> str:
    return "%s %d %s" % (rng.choice(WEEKDAYS[:5]), rng.randint(1, 28), rng.choice(MONTHS))


def med_time(rng: random.Random) -> str:
    return "%d:%02d" % (rng.randint(8, 17), rng.choice([0, 10, 20, 30, 40, 50]))


def med_original(rng: random.Random) -> tuple[dict, dict]:
    dept = rng.choice(MED_DEPTS)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    doctor, doctor2 = rng.sample(MED_DOCTORS, 2)
    dob = "%02d/%02d/%d" % (rng.randint(1, 28), rng.randint(1, 12), rng.randint(1940, 2005))
    ref = "RH-%d-%04d" % (rng.randint(20, 99), rng.randrange(10 ** 4))
    fill = {
        "REL": rng.choice(RELATIVES), "N": rng.choice(FIRST_NAMES), "E": rng.choice(MED_EVENTS),
        "Y": rng.choice(CITIES), "W": rng.choice(MED_WORK), "DAY": "%dth" % rng.randint(4, 20),
        "MON": rng.choice(MONTHS), "JOB": rng.choice(MED_JOBS), "H": "%d pm" % rng.randint(3, 9),
        "WD": rng.choice(WEEKDAYS), "B": rng.choice(MED_BODY), "S": rng.choice(MED_SYMPTOM_WORDS),
        "MED": rng.choice(MED_MEDICINES), "F": rng.choice(MED_FEELINGS),
    }
    user = [
        rng.choice(["Dear clinic,", "Hello,", "Hi,", "Good morning,"]),
        rng.choice(MED_REQUESTS).format(P=dept),
        f"My appointment is on {med_date(rng)} at {med_time(rng)} with Dr {doctor}.",
        rng.choice(MED_REASONS).format(**fill),
        rng.choice(MED_SYMPTOMS).format(**fill),
        f"My date of birth is {dob} and my hospital number is {ref}.",
        f"Kind regards, {first} {last}",
    ]
    agent = [
        f"Hello {first}, thank you for your message about your appointment with {dept}.",
        f"I have booked you in for {med_date(rng)} at {med_time(rng)} with Dr {doctor2}, "
        f"under reference {ref}.",
        f"I have also passed your note about the {fill['B']} to Dr {doctor}.",
        *rng.sample(MED_INSTRUCTIONS, rng.randint(2, 3)),
        rng.choice(MED_CLOSERS),
        "Best wishes, Riverside Outpatients",
    ]
    return {"user": user}, {"agent": agent}


def med_render(rng, user, agent, strength, aug_user, aug_agent, footer):
    if strength is None:
        u, a = " ".join(user["user"]), " ".join(agent["agent"])
    else:
        u = aug_user.variant(user["user"], rng, strength)
        a = aug_agent.variant(agent["agent"], rng, strength * rng.uniform(0.6, 1.0))
    if footer:
        a = a + "\n\n" + MED_FOOTER
    return {"prompt": [{"role": "user", "content": u}],
            "completion": [{"role": "assistant", "content": a}]}


# --------------------------------------------------------------------------------------------------
# Sets
# --------------------------------------------------------------------------------------------------

SETS = [
    # name, seed, families, original maker, renderer, augmenters (user, agent), footer share
    ("it_tickets", 1101, 64, it_original, it_render,
     (IT_SYNONYMS, IT_FILLERS_USER, IT_PREFIXES), (IT_SYNONYMS, IT_FILLERS_AGENT, IT_PREFIXES), 0.6),
    ("shop_emails", 2202, 62, shop_original, shop_render,
     (SHOP_SYNONYMS, SHOP_FILLERS_USER, SHOP_PREFIXES),
     (SHOP_SYNONYMS, SHOP_FILLERS_AGENT, SHOP_PREFIXES), 0.65),
    ("clinic_messages", 3303, 72, med_original, med_render,
     (MED_SYNONYMS, MED_FILLERS_USER, MED_PREFIXES),
     (MED_SYNONYMS, MED_FILLERS_AGENT, MED_PREFIXES), 0.55),
]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def shared_trigram_shares(originals: list[str]) -> tuple[float, float]:
    """Word 3-grams of the originals found in the originals of two families or more.

    Returns (share of the distinct 3-grams, share of the 3-gram occurrences)."""
    families_of = defaultdict(set)
    occurrences = []
    for family, text in enumerate(originals):
        w = words(text)
        grams = [tuple(w[i:i + 3]) for i in range(len(w) - 2)]
        occurrences.append(grams)
        for gram in grams:
            families_of[gram].add(family)
    distinct = sum(1 for fams in families_of.values() if len(fams) >= 2) / len(families_of)
    total = sum(len(g) for g in occurrences)
    shared = sum(1 for grams in occurrences for g in grams if len(families_of[g]) >= 2)
    return distinct, shared / total


def row_text(row: dict, footer: str) -> str:
    """The row's prompt and completion text (system message and footer left out)."""
    parts = []
    for key in ("prompt", "completion"):
        value = row.get(key)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(m["content"] for m in value)
    parts.extend(m["content"] for m in row.get("messages", []) if m["role"] != "system")
    return " ".join(parts).replace(footer, "")


def jaccard(a: str, b: str) -> float:
    x, y = set(words(a)), set(words(b))
    return len(x & y) / len(x | y)


def build(name, seed, n_families, make_original, render, aug_u, aug_a, footer_share):
    rng = random.Random(seed)
    aug_user, aug_agent = Augmenter(*aug_u), Augmenter(*aug_a)
    sizes = family_sizes(rng, n_families)
    rows, originals, similarity = [], [], []
    for f, size in enumerate(sizes):
        family = f"{name}-f{f:02d}"
        user, agent = make_original(rng)
        originals.append(" ".join(user["user"]) + " " + " ".join(agent["agent"]))
        for k in range(size):
            strength = None if k == 0 else pick_strength(rng)
            row = render(rng, user, agent, strength, aug_user, aug_agent,
                         rng.random() < footer_share)
            if k:
                similarity.append(jaccard(row_text(row, FOOTERS[name]), originals[-1]))
            rows.append({**row, "planted": family})
    rng.shuffle(rows)
    out = [{"id": f"{name}-{i:04d}", **row} for i, row in enumerate(rows)]
    distinct, occurrences = shared_trigram_shares(originals)
    similarity.sort()
    stats = {
        "set": name, "rows": len(out), "families": n_families,
        "largest": sorted(sizes, reverse=True)[:5], "singletons": sizes.count(1),
        "shared_3grams_distinct": round(distinct, 3),
        "shared_3grams_occurrences": round(occurrences, 3),
        "footer_rows": sum(1 for r in out if FOOTERS[name] in json.dumps(r, ensure_ascii=False)),
        "variant_vs_original_word_jaccard_median": round(similarity[len(similarity) // 2], 3),
        "variant_vs_original_word_jaccard_min": round(similarity[0], 3),
    }
    return out, stats


FOOTERS = {"it_tickets": IT_FOOTER, "shop_emails": SHOP_FOOTER, "clinic_messages": MED_FOOTER}


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else HERE
    for name, seed, n_families, make_original, render, aug_u, aug_a, footer_share in SETS:
        rows, stats = build(name, seed, n_families, make_original, render, aug_u, aug_a,
                            footer_share)
        with open(target / f"{name}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
