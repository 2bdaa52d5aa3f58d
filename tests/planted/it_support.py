"""IT support tickets answered by a service-desk agent with numbered steps (English).

Each family is one ticket: a user (name, department, building), an asset tag, an error code,
a ticket number and a problem on one of six topics (VPN, printer, email, account lockout,
laptop disk space, Wi-Fi). Many families share a topic, so they share its vocabulary and some
of its steps; what tells two same-topic families apart is the user, the asset, the error code,
the ticket number and which steps (of about ten for the topic) the agent chose.

Variants of the original apply 1 to 4 of: synonym swaps (own thesaurus), reordered steps (one
adjacent pair or a full shuffle, then renumbered) and/or reordered prompt sentences, inserted
fillers ("Just to be clear,", "As mentioned,", ...), and 1-3 character typos (swap, drop,
double). Every row of the set, original or variant, ends with the same service-desk footer.
"""
from __future__ import annotations

import functools
import random

from ._common import PlantedSet, Thesaurus, add_typos, build, choose_ops, pick, reorder

FOOTER = ("--\nIT Service Desk | ext. 4400 | Mon-Fri 08:00-18:00\n"
          "This message was sent from an unmonitored mailbox. Please reply in the ticket portal.")

FIRST = ["Priya", "Marcus", "Elena", "Tom", "Aisha", "Jonas", "Keiko", "Diego", "Hannah", "Omar",
         "Sofia", "Liam", "Grace", "Ravi", "Chloe", "Mateo", "Ingrid", "Samuel", "Nadia", "Felix"]
LAST = ["Okafor", "Lindqvist", "Brennan", "Moreau", "Tanaka", "Alvarez", "Kowalski", "Haddad",
        "Fischer", "Nguyen", "O'Brien", "Rossi", "Patel", "Schmidt", "Dubois", "Jensen"]
DEPT = ["Finance", "Legal", "Marketing", "Procurement", "Payroll", "Customer Success", "Logistics",
        "Research", "Facilities", "Sales Operations", "Compliance", "Engineering"]
BUILDING = ["Harbour House", "the Elm Street office", "Building C", "the Riverside annex",
            "Tower 2", "the north campus", "the Leeds branch", "the warehouse office"]
WHEN = ["this morning", "on Monday", "after yesterday's update", "after the office move",
        "after I changed my password", "last Thursday", "at lunchtime", "after a restart"]
IMPACT = ["I can't finish the month-end report.", "My team is waiting on me.",
          "I have a client call at three.", "This blocks our invoicing run.",
          "I need it for a deadline tomorrow.", "It is slowing everyone down."]

TOPICS = {
    "vpn": {
        "ask": ["The VPN client on my laptop {asset} will not connect and shows error {code}.",
                "GlobalConnect VPN drops every few minutes with code {code} on {asset}."],
        "steps": [
            "Quit the VPN client completely from the system tray.",
            "Check that the clock on {asset} is set automatically.",
            "Sign out of the VPN portal and sign in again with your network password.",
            "Switch from the office gateway to the {gateway} gateway.",
            "Remove the old VPN profile and import the new one from the portal.",
            "Turn off any other VPN or proxy software you have installed.",
            "Connect over your phone's hotspot to rule out the home router.",
            "Install VPN client version {version} from Software Center.",
            "Restart the laptop before you try again.",
            "Send us the log file from the client's Help menu if {code} comes back.",
        ],
    },
    "printer": {
        "ask": ["The printer {printer} on floor {floor} rejects my jobs with error {code}.",
                "Nothing I send to {printer} prints; the queue says {code}."],
        "steps": [
            "Open the print queue for {printer} and cancel every stuck job.",
            "Remove {printer} from your devices and add it again from the print portal.",
            "Check that the printer's display on floor {floor} shows no paper jam.",
            "Choose the {driver} driver instead of the generic one.",
            "Release the job at the printer with your badge.",
            "Restart the print spooler service from the self-service app.",
            "Print a test page to confirm the connection.",
            "Try the backup printer {printer2} on the same floor.",
            "Make sure you are connected to the office network, not guest Wi-Fi.",
            "Tell us the number on the asset sticker if {code} still appears.",
        ],
    },
    "email": {
        "ask": ["Outlook on {asset} keeps asking for my password and then shows {code}.",
                "My mailbox stopped syncing on {asset}; Outlook reports {code}."],
        "steps": [
            "Close Outlook and open it again while holding Ctrl to start in safe mode.",
            "Remove the saved mail credentials from Credential Manager.",
            "Create a new Outlook profile and set it as the default.",
            "Check that your mailbox is under the {quota} quota.",
            "Turn off cached exchange mode for a moment and test again.",
            "Update Office to build {version} from Software Center.",
            "Sign in to webmail to confirm the account itself works.",
            "Disable the add-in {addin} and restart Outlook.",
            "Run the repair option for Office from the control panel.",
            "Send us a screenshot of {code} if it comes back.",
        ],
    },
    "lockout": {
        "ask": ["My account {account} is locked out again and the sign-in page shows {code}.",
                "I can't sign in to {asset}; it says {code} and that my account {account} is locked."],
        "steps": [
            "Wait fifteen minutes for the automatic unlock before trying again.",
            "Use the self-service portal to reset the password for {account}.",
            "Update the saved password on your phone's mail app, which keeps retrying the old one.",
            "Disconnect mapped drives that still use your previous password.",
            "Sign in once on {asset} while connected to the office network.",
            "Approve the multi-factor prompt in the authenticator app.",
            "Check the caps lock and keyboard language before typing the password.",
            "Remove your account from any shared computer you used last week.",
            "Register a second verification method in the security portal.",
            "Call ext. 4400 if {code} appears after the reset.",
        ],
    },
    "disk": {
        "ask": ["Laptop {asset} is very slow and warns that drive C: has only {free} free.",
                "I get {code} on {asset} because the disk is almost full ({free} left)."],
        "steps": [
            "Empty the recycle bin and the downloads folder.",
            "Run Disk Cleanup and tick temporary files and update leftovers.",
            "Move large files to your OneDrive folder and mark them online-only.",
            "Uninstall {app}, which you no longer need.",
            "Restart {asset} to let pending updates finish.",
            "Check Task Manager for a process using most of the disk.",
            "Clear the Teams cache from the settings page.",
            "Run the storage report in the self-service app and send it to us.",
            "Let us know if {code} returns after the cleanup.",
            "Ask your manager to approve a larger drive if you still have under {free}.",
        ],
    },
    "wifi": {
        "ask": ["On floor {floor} my laptop {asset} loses the Wi-Fi every few minutes with {code}.",
                "{asset} can see the office Wi-Fi but will not join; it reports {code}."],
        "steps": [
            "Forget the {ssid} network and join it again.",
            "Turn the Wi-Fi adapter off and on from the network settings.",
            "Install the wireless driver {version} from Software Center.",
            "Move closer to the access point near the lifts on floor {floor}.",
            "Switch off power saving for the wireless adapter.",
            "Plug into a network port to check the wired connection works.",
            "Renew the certificate from the self-service app.",
            "Reboot {asset} while docked and then undock it.",
            "Try the {ssid2} network for guests to see if it is the laptop or the account.",
            "Send us the time it dropped if {code} happens again.",
        ],
    },
}
TOPIC_NAMES = list(TOPICS)

ACK = ["Thanks for raising ticket {ticket}, {first}.", "Sorry about the trouble with ticket {ticket}.",
       "I have picked up ticket {ticket} for you.", "Thank you for the details in ticket {ticket}."]
CLOSE = ["Reply in the portal if this does not fix it and quote {ticket}.",
         "I will keep {ticket} open until Friday in case the problem returns.",
         "If you are still stuck, book a desk visit and mention {ticket}.",
         "Let me know how it goes; {ticket} stays open for now."]

THESAURUS = Thesaurus([
    ["restart", "reboot"], ["Restart", "Reboot"], ["check", "verify", "confirm"],
    ["remove", "delete"], ["install", "set up"], ["send us", "forward us"],
    ["problem", "issue", "fault"], ["trouble", "hassle"], ["try", "attempt"],
    ["laptop", "notebook"], ["folder", "directory"], ["again", "once more"],
    ["completely", "fully"], ["every", "each"], ["large", "big"], ["slow", "sluggish"],
    ["keeps", "continues"], ["stuck", "blocked"], ["Thanks", "Many thanks"],
    ["Let me know", "Tell me"], ["no longer", "don't any longer"], ["quote", "mention"],
])
FILLERS = ["Just to be clear,", "As mentioned,", "To be on the safe side,", "If possible,",
           "As a first step,", "For what it's worth,"]
WORD = r"[A-Za-z]{4,}"


SHARED_IDS = {  # unique_ids=False: identifiers from these small pools, shared across families
    "asset": ["LT-20417", "LT-20418", "NB-31002"], "code": ["E401", "0x80F3", "E118"],
    "ticket": ["INC0042117", "INC0042118", "INC0042120", "INC0042131"], "version": ["7.2.118", "9.0.301"],
    "printer": ["PRN-C14", "PRN-D22"], "printer2": ["PRN-K31", "PRN-L40"],
}


def _original(rng: random.Random, f: int, unique_ids: bool = True) -> dict:
    topic = TOPIC_NAMES[rng.randrange(len(TOPIC_NAMES))]
    spec = TOPICS[topic]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    slots = {
        "first": first, "asset": f"{rng.choice(['LT', 'NB', 'WS'])}-{rng.randint(10000, 99999)}",
        "code": f"0x{rng.randint(0x1000, 0xFFFF):04X}" if rng.random() < 0.5 else f"E{rng.randint(100, 999)}",
        "ticket": f"INC{rng.randint(1000000, 9999999)}", "floor": str(rng.randint(1, 14)),
        "printer": f"PRN-{rng.choice('ABCDEFGH')}{rng.randint(10, 99)}",
        "printer2": f"PRN-{rng.choice('JKLMNPQR')}{rng.randint(10, 99)}",
        "driver": rng.choice(["PCL6", "PostScript", "Universal PCL5", "KX"]),
        "gateway": rng.choice(["Frankfurt", "Dublin", "Singapore", "Virginia", "Sydney"]),
        "version": f"{rng.randint(4, 16)}.{rng.randint(0, 9)}.{rng.randint(100, 999)}",
        "quota": rng.choice(["50 GB", "100 GB", "25 GB"]),
        "addin": rng.choice(["Zoom for Outlook", "Grammarly", "Salesforce Sync", "DocuSign"]),
        "account": f"{first[0].lower()}{last.lower().replace(chr(39), '')}{rng.randint(1, 99)}",
        "free": f"{rng.choice([0.4, 0.8, 1.2, 1.9, 2.5, 3.1])} GB",
        "app": rng.choice(["an old Visual Studio", "Adobe Premiere", "a trial of AutoCAD", "SPSS"]),
        "ssid": rng.choice(["CORP-SECURE", "Staff-5G", "HQ-WLAN"]),
        "ssid2": rng.choice(["Guest", "Visitors", "Guest-Open"]),
    }
    if not unique_ids:  # no extra draws from rng: the rest of the set stays as with unique ids
        for key, pool in SHARED_IDS.items():
            slots[key] = pool[(f * 7 + len(key)) % len(pool)]
        slots["account"] = slots["account"].rstrip("0123456789")
    intro = (f"Hello, this is {first} {last} from {rng.choice(DEPT)} in {rng.choice(BUILDING)}.")
    prompt_sentences = [intro, rng.choice(spec["ask"]), f"It started {rng.choice(WHEN)}.",
                        rng.choice(IMPACT)]
    steps = pick(rng, spec["steps"], rng.randint(4, 6))
    return {
        "slots": slots,
        "prompt": [s.format(**slots) for s in prompt_sentences],
        "greeting": f"Hi {first},",
        "ack": rng.choice(ACK).format(**slots),
        "steps": [s.format(**slots) for s in steps],
        "close": rng.choice(CLOSE).format(**slots),
    }


def _render(o: dict, prompt: list[str] | None = None, steps: list[str] | None = None
            ) -> tuple[str, str]:
    prompt = o["prompt"] if prompt is None else prompt
    steps = o["steps"] if steps is None else steps
    body = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
    completion = (f"{o['greeting']}\n\n{o['ack']} Please work through these steps:\n{body}\n\n"
                  f"{o['close']}\n\n{FOOTER}")
    return " ".join(prompt), completion


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s[:1].isupper() and not s[1:2].isupper() else s


def _variant(rng: random.Random, o: dict) -> tuple[str, str, list[str]]:
    ops = choose_ops(rng, ["synonyms", "reorder", "fillers", "typos"], 1, 4)
    prompt, steps = list(o["prompt"]), list(o["steps"])
    if "reorder" in ops:
        steps = reorder(rng, steps)
        if rng.random() < 0.5:
            prompt = [prompt[0]] + reorder(rng, prompt[1:], "adjacent")
    if "fillers" in ops:
        for _ in range(rng.randint(1, 2)):
            i = rng.randrange(len(steps))
            if not steps[i].startswith(tuple(FILLERS)):
                steps[i] = f"{rng.choice(FILLERS)} {_lower_first(steps[i])}"
        if rng.random() < 0.5:
            i = rng.randrange(1, len(prompt))
            prompt[i] = f"{rng.choice(FILLERS[:2])} {_lower_first(prompt[i])}"
    p, c = _render(o, prompt, steps)
    footer_at = c.rindex(FOOTER)
    c, footer = c[:footer_at], c[footer_at:]  # the shared footer stays byte for byte the same
    if "synonyms" in ops:
        p, c = THESAURUS.swap(rng, p), THESAURUS.swap(rng, c)
    if "typos" in ops:
        n = rng.randint(1, 3)
        p, c = add_typos(rng, p, rng.randint(0, 1), WORD), add_typos(rng, c, n, WORD)
    return p, c + footer, ops


SALT = 1  # seeds this generator's random stream apart from the others'


def generate(n_families: int = 360, seed: int = 0, shape: str = "prompt_completion",
             declare_family: bool = True, unique_ids: bool = True) -> PlantedSet:
    """IT-support planted families. Default: 360 families, about 1,400 rows.

    shape: "prompt_completion" (the ticket is the prompt, the agent's answer the completion) or
    "messages" (user / assistant). declare_family: also write the truth into "family".
    unique_ids=False (the harder set): asset tags, error codes, ticket numbers, versions,
    printers and account numbers come from pools of 2-4 values shared by all families, so only
    words (names, department, building, the choice of steps) tell same-topic families apart."""
    original = functools.partial(_original, unique_ids=unique_ids)
    return build(n_families, seed, "it", shape, declare_family, original, _variant, _render, salt=SALT)
