"""Writes every input file in this folder (deterministic; run from anywhere):
    python tests/data/real_world_more/make_files.py
The files are committed; this script documents how they were made."""
from __future__ import annotations

import csv
import io
import json
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
LS, PS, NEL = "\u2028", "\u2029", "\u0085"


def write_jsonl(name: str, rows: list[dict]) -> None:
    assert 10 <= len(rows) <= 60, (name, len(rows))
    with open(HERE / name, "w", encoding="utf-8", newline="\n") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def msgs(*pairs) -> list[dict]:
    return [{"role": role, "content": content} for role, content in pairs]


# 1 ---------------------------------------------------------------------------------------------
def unicode_separators() -> None:
    """Travel-desk answers pasted from a CMS and a PDF: raw U+2028, U+2029 and U+0085 inside
    strings, as json.dumps(ensure_ascii=False) writes them (it escapes only U+0000-U+001F)."""
    rows = [
        ("refund-policy", "Can I get a refund if I cancel my Lisbon hotel 48 hours before check-in?",
         f"Yes. Cancellations made at least 24 hours before check-in are refunded in full.{PS}"
         f"The refund goes back to the card you paid with within 5–7 business days.{LS}"
         f"If you paid with points, the points are restored instead."),
        ("refund-policy", "If I cancel the Lisbon hotel two days ahead, do I get my money back?",
         f"Yes. Any cancellation at least 24 hours before check-in is refunded in full.{PS}"
         f"Expect the refund on the original card within 5–7 business days.{LS}"
         f"Bookings paid with points get the points back instead."),
        ("refund-policy", f"Cancelling Lisbon hotel{NEL}48h before check-in{NEL}refund possible?",
         f"Yes, cancelling 24 hours or more before check-in gives a full refund.{PS}"
         f"It reaches your card in 5–7 business days.{LS}Points bookings are refunded in points."),
        ("refund-policy", "Will I be refunded for cancelling my hotel in Lisbon 2 days early?",
         f"Yes — a full refund applies to cancellations at least 24 hours before check-in.{PS}"
         f"Refunds land on the original card within 5–7 business days.{LS}"
         f"If you paid with points, we restore the points."),
        ("baggage", "How many checked bags are included on the Basic fare to Reykjavík?",
         f"The Basic fare includes no checked bag; one cabin bag up to 8 kg is included.{LS}"
         f"You can add a 23 kg checked bag for €45 online, or €70 at the airport.{PS}"
         f"Sports equipment needs its own booking."),
        ("baggage", "Basic fare Reykjavík: is a checked suitcase included?",
         f"No checked bag is included on Basic — only one 8 kg cabin bag.{LS}"
         f"Adding a 23 kg bag costs €45 online or €70 at the airport.{PS}"
         f"Sports equipment is booked separately."),
        ("baggage", f"Flying Basic to Reykjavík.{NEL}What luggage do I get?",
         f"On Basic you get one cabin bag up to 8 kg and no checked bag.{LS}"
         f"A 23 kg checked bag is €45 if added online, €70 at the airport.{PS}"
         f"Book sports equipment on its own."),
        ("visa", "Do I need a visa for a 10-day trip to Vietnam on a Canadian passport?",
         f"Yes. Canadian citizens need an e-visa for Vietnam.{PS}Apply at evisa.gov.vn at least "
         f"7 days before you fly; it costs US$25 and is valid for up to 90 days.{LS}"
         f"Your passport must be valid for 6 months after arrival."),
        ("visa", "Canadian passport, 10 days in Vietnam: visa needed?",
         f"Yes, you need an e-visa as a Canadian citizen.{PS}Apply on evisa.gov.vn 7 or more days "
         f"before departure; the fee is US$25, valid up to 90 days.{LS}"
         f"Passports need 6 months' validity from arrival."),
        ("visa", "I'm Canadian. Is an e-visa required for Vietnam for ten days?",
         f"Yes — Canadians need an e-visa for Vietnam.{PS}Apply online at evisa.gov.vn no later than "
         f"7 days before the flight (US$25, valid up to 90 days).{LS}"
         f"Check that your passport is valid for 6 more months."),
        ("seat-change", "Can I change my seat after online check-in on flight TP1347?",
         f"Yes, until 60 minutes before departure, in Manage Booking → Seats.{LS}"
         f"Paid seats are refunded only if we move you.{PS}Your boarding pass is re-issued automatically."),
        ("seat-change", "Already checked in for TP1347 — can I still pick another seat?",
         f"You can, up to 60 minutes before departure, under Manage Booking → Seats.{LS}"
         f"We refund paid seats only when we move you ourselves.{PS}A new boarding pass is issued automatically."),
        ("seat-change", f"TP1347{NEL}checked in already{NEL}seat change?",
         f"Yes — Manage Booking → Seats, until 60 minutes before departure.{LS}"
         f"Paid seats are only refunded if we reassign you.{PS}The boarding pass updates by itself."),
        ("pet-travel", "Can my cat fly in the cabin from Madrid to Paris?",
         f"Yes, cats up to 8 kg including the carrier may fly in the cabin.{PS}"
         f"Book the pet at least 48 hours ahead (€50 each way).{LS}"
         f"The carrier must fit under the seat: 40 × 30 × 20 cm at most."),
        ("pet-travel", "Madrid to Paris with my cat in the cabin — allowed?",
         f"Yes: a cat of up to 8 kg with its carrier can travel in the cabin.{PS}"
         f"Add the pet to the booking 48 hours or more before the flight (€50 per way).{LS}"
         f"Carrier maximum: 40 × 30 × 20 cm, under the seat in front."),
        ("pet-travel", f"Cat in cabin{NEL}MAD → CDG{NEL}what are the rules?",
         f"Cats weighing 8 kg or less with the carrier may fly in the cabin.{PS}"
         f"Book it 48 hours ahead; €50 each way.{LS}The carrier must be at most 40 × 30 × 20 cm."),
    ]
    write_jsonl("unicode_separators.jsonl", [
        {"id": f"trv-{i:03d}", "prompt": p, "completion": c, "family": fam}
        for i, (fam, p, c) in enumerate(rows)])


# 2 ---------------------------------------------------------------------------------------------
def multiline_crlf_csv() -> None:
    """HR answers exported from a spreadsheet: CRLF record ends (csv's default), quoted cells
    with line breaks (LF, and CRLF in one row), commas and doubled quotes inside cells, ids
    with leading zeros, and a completion that is JSON-looking text but not a structured field."""
    sig = "\n\n— People Team\npeople@northwind.example"
    rows = [
        ("00417", "leave", "How many days of annual leave do I get in my first year?",
         "Full-time staff get 25 days a year, pro rata in the first year.\n\n"
         "- Joined in January: 25 days\n- Joined in July: 12.5 days\n- Bank holidays are on top" + sig),
        ("00418", "leave", "First year here - how much annual leave?",
         "You get 25 days a year, pro rata for your first year:\n"
         "- January start: 25 days\n- July start: 12.5 days\n- Bank holidays come on top" + sig),
        ("00419", "leave", "Hi,\nI started in July.\nHow much holiday do I have this year?",
         "Annual leave is 25 days a year, pro rata in year one.\n\n"
         "- A July start gives 12.5 days\n- A January start gives 25 days\n- Bank holidays are extra" + sig),
        ("00420", "expenses", "Can I expense a train ticket, and what receipt do I need?",
         "Yes. Standard-class rail is reimbursed in full.\n\nAttach:\n1. the ticket or e-ticket PDF,\n"
         "2. the card receipt, and\n3. the project code, e.g. \"PRJ-2291\".\n\n"
         "Claims over £250 need your manager's approval." + sig),
        ("00421", "expenses", "Train fare for a client visit, is it reimbursable? Which receipts?",
         "Standard-class rail is reimbursed in full.\n\nYou need to attach:\n1. the e-ticket PDF,\n"
         "2. the card receipt, and\n3. the project code, e.g. \"PRJ-2291\".\n\n"
         "Over £250, your manager approves first." + sig),
        ("00422", "expenses", "Expense system asks for a \"cost object\" for my rail ticket, what is it?",
         'The "cost object" is the project code, e.g. "PRJ-2291".\n\nAlso attach:\n1. the ticket,\n'
         "2. the card receipt.\n\nRail in standard class is reimbursed in full; claims over £250 need approval." + sig),
        ("00423", "expenses", "What does the expense API return when a claim is approved?",
         '{"claim_id": "EXP-55102", "status": "approved", "approved_by": "m.ortega"}\n'
         "That is the JSON body; the status field is what the finance dashboard shows."),
        ("00424", "remote", "Can I work from another country for a month?",
         "Up to 20 working days a year abroad, with approval.\r\n\r\n"
         "Before you go:\r\n- ask your manager in Workday,\r\n- check the country is on the allowed list,\r\n"
         "- keep core hours 10:00-16:00 UK time." + sig),
        ("00425", "remote", "Working abroad for 4 weeks, allowed?",
         "Yes, up to 20 working days abroad per year if approved.\n\n"
         "Before you travel:\n- request it from your manager in Workday,\n- check the allowed-country list,\n"
         "- keep core hours, 10:00-16:00 UK time." + sig),
        ("00426", "remote", "Remote from Spain next month, what do I need to do?",
         "You may work abroad up to 20 working days a year with approval.\n\n"
         "- Ask your manager in Workday\n- Spain is on the allowed list\n- Keep core hours 10:00-16:00 UK time" + sig),
        ("00427", "onboarding", "What happens on my first day?",
         "09:30  Welcome at reception, 3rd floor\n10:00  Laptop and badge with IT\n"
         "12:00  Lunch with your buddy\n14:00  Security training (45 min)\n\n"
         "Bring photo ID and your bank details." + sig),
        ("00428", "onboarding", "Schedule for day one?",
         "09:30  Reception, 3rd floor\n10:00  IT: laptop, badge\n12:00  Lunch with your buddy\n"
         "14:00  Security training, 45 minutes\n\nPlease bring photo ID and bank details." + sig),
        ("00429", "onboarding", "New starter here, what should I bring and where do I go?",
         "Come to reception on the 3rd floor at 09:30.\n\nBring:\n- photo ID\n- your bank details\n\n"
         "The rest of the day: IT at 10:00, lunch with your buddy at 12:00, security training at 14:00." + sig),
        ("00430", "onboarding", "Do I need to bring anything on my first day, e.g. a laptop?",
         "No laptop needed, IT gives you one at 10:00.\n\nDo bring:\n- photo ID\n- bank details, for payroll\n\n"
         "Start at reception, 3rd floor, 09:30." + sig),
    ]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["id", "family", "prompt", "completion"])
    w.writerows(rows)
    with open(HERE / "hr_multiline_crlf.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())


# 3 ---------------------------------------------------------------------------------------------
SYSTEM_LEX = ("You are Lex, the paralegal assistant of Harper & Vance LLP. Answer in plain English, "
              "cite the clause you rely on, and end by recommending review by a solicitor.")


def system_turn_gemma() -> None:
    """A system turn in every row (for a Gemma-style template, which refuses the system role),
    and one row with two user turns in a row (for templates that insist on alternation)."""
    fams = {
        "notice": [("How much notice must a tenant give under clause 7.2 of the standard lease?",
                    "Under clause 7.2 the tenant must give two months' written notice, ending on a rent day. "
                    "Please have a solicitor review this before you rely on it."),
                   ("Clause 7.2 of our lease: what notice period applies to the tenant?",
                    "Clause 7.2 requires two months' notice in writing, expiring on a rent day. "
                    "A solicitor should review this before you act on it."),
                   ("Tenant wants to leave. Standard lease, clause 7.2. Notice?",
                    "Two months, in writing, ending on a rent day (clause 7.2). "
                    "I recommend a solicitor reviews this.")],
        "deposit": [("Within how many days must the deposit be protected (clause 4.1)?",
                     "Clause 4.1 requires the deposit to be protected within 30 days of receipt and the "
                     "prescribed information given in the same period. Please ask a solicitor to confirm."),
                    ("Deposit protection deadline under clause 4.1?",
                     "30 days from receipt, with the prescribed information served within the same 30 days "
                     "(clause 4.1). A solicitor should confirm this."),
                    ("Landlord received the deposit on 3 March. By when must it be protected? (cl. 4.1)",
                     "By 2 April: clause 4.1 gives 30 days from receipt, prescribed information included. "
                     "Please have a solicitor confirm.")],
        "repairs": [("Who repairs the boiler under clause 9.3?",
                     "Clause 9.3 makes the landlord responsible for the boiler and hot water, within a "
                     "reasonable time after notice. I recommend a solicitor reviews this."),
                    ("Boiler broke. Clause 9.3. Landlord or tenant?",
                     "The landlord: clause 9.3 covers the boiler and hot water, repaired within a reasonable "
                     "time once notified. A solicitor should review this."),
                    ("Is the tenant liable for boiler repairs (clause 9.3)?",
                     "No. Under clause 9.3 the landlord keeps the boiler and hot water in repair after notice. "
                     "Please have a solicitor review it.")],
        "pets": [("Does clause 12.5 allow a tenant to keep a dog?",
                  "Clause 12.5 allows pets with the landlord's written consent, which may not be unreasonably "
                  "withheld. Please ask a solicitor to review this."),
                 ("Tenant asks about a dog. Our clause 12.5?",
                  "Pets need the landlord's written consent under clause 12.5; consent may not be refused "
                  "unreasonably. A solicitor should confirm."),
                 ("Can we refuse a cat outright under clause 12.5?",
                  "Not outright: clause 12.5 requires written consent that is not unreasonably withheld. "
                  "I recommend a solicitor reviews your reasons.")],
    }
    rows = []
    for fam, pairs in fams.items():
        for user, assistant in pairs:
            rows.append({"id": f"lex-{len(rows):02d}", "family": fam,
                         "messages": msgs(("system", SYSTEM_LEX), ("user", user), ("assistant", assistant))})
    # a user who sent two messages before the answer (roles do not alternate)
    rows[9]["messages"] = msgs(("system", SYSTEM_LEX), ("user", "Quick question about pets."),
                               ("user", "Does clause 12.5 allow a tenant to keep a dog?"),
                               ("assistant", fams["pets"][0][1]))
    write_jsonl("system_turn_gemma.jsonl", rows)


# 4 ---------------------------------------------------------------------------------------------
def three_turn() -> None:
    """Chemistry tutoring with three assistant turns per row; each turn says something the
    others do not (so a reader can tell which turns were trained or scored)."""
    convs = {
        "moles": [
            ["How many moles are in 18 g of water?", "18 g ÷ 18 g/mol = 1 mol of water.",
             "And how many molecules is that?", "1 mol × 6.022 × 10²³ = 6.022 × 10²³ molecules.",
             "So how many hydrogen atoms?", "Two per molecule: 1.204 × 10²⁴ hydrogen atoms."],
            ["What amount of substance is 36 g of H2O?", "36 g ÷ 18 g/mol = 2 mol of water.",
             "How many molecules?", "2 mol × 6.022 × 10²³ = 1.204 × 10²⁴ molecules.",
             "How many oxygen atoms, then?", "One per molecule: 1.204 × 10²⁴ oxygen atoms."],
            ["Moles in 9 g of water?", "9 g ÷ 18 g/mol = 0.5 mol of water.",
             "Number of molecules?", "0.5 × 6.022 × 10²³ = 3.011 × 10²³ molecules.",
             "And hydrogen atoms?", "Twice that: 6.022 × 10²³ hydrogen atoms."],
        ],
        "ph": [
            ["What is the pH of 0.01 M HCl?", "HCl dissociates fully, so [H⁺] = 0.01 M and pH = 2.",
             "What if I dilute it tenfold?", "[H⁺] = 0.001 M, so the pH rises to 3.",
             "And the pOH at that point?", "pOH = 14 − 3 = 11 at 25 °C."],
            ["pH of 0.001 M hydrochloric acid?", "Full dissociation gives [H⁺] = 0.001 M, so pH = 3.",
             "Diluted 10 times?", "[H⁺] = 0.0001 M and the pH becomes 4.",
             "pOH then?", "pOH = 14 − 4 = 10 at 25 °C."],
            ["0.1 M HCl: what's the pH?", "[H⁺] = 0.1 M since HCl is a strong acid, so pH = 1.",
             "After a tenfold dilution?", "[H⁺] = 0.01 M, so pH = 2.",
             "What's the pOH?", "pOH = 14 − 2 = 12 at 25 °C."],
        ],
        "gas-law": [
            ["A gas occupies 2.0 L at 300 K. What volume at 450 K, same pressure?",
             "Charles's law: V₂ = 2.0 L × 450/300 = 3.0 L.",
             "And if I then double the pressure at 450 K?", "Boyle's law halves it: 1.5 L.",
             "Which law combines both steps?", "The combined gas law, P₁V₁/T₁ = P₂V₂/T₂."],
            ["3.0 L of gas at 250 K is heated to 500 K at constant pressure. New volume?",
             "V₂ = 3.0 L × 500/250 = 6.0 L (Charles's law).",
             "Now triple the pressure, temperature fixed?", "By Boyle's law the volume drops to 2.0 L.",
             "Is there one formula for both?", "Yes: the combined gas law, P₁V₁/T₁ = P₂V₂/T₂."],
            ["Gas at 1.0 L, 200 K; heat to 400 K at fixed pressure: volume?",
             "Charles's law gives 1.0 L × 400/200 = 2.0 L.",
             "Then double the pressure?", "Boyle's law: the volume halves to 1.0 L.",
             "One equation for all that?", "The combined gas law: P₁V₁/T₁ = P₂V₂/T₂."],
        ],
        "bonding": [
            ["Is NaCl ionic or covalent?", "Ionic: Na gives an electron to Cl, forming Na⁺ and Cl⁻.",
             "Why does it conduct when molten?", "The ions become free to move and carry charge.",
             "Does it conduct as a solid?", "No, in the solid lattice the ions are fixed in place."],
            ["What kind of bonding is in sodium chloride?", "Ionic bonding between Na⁺ and Cl⁻ ions.",
             "Why is molten NaCl conductive?", "Its ions can move freely and carry the current.",
             "And solid NaCl?", "It does not conduct: the ions are locked in the lattice."],
            ["NaCl: ionic bond or covalent bond?", "An ionic bond; sodium transfers an electron to chlorine.",
             "How come it conducts once melted?", "Melting frees the ions to move and carry charge.",
             "Solid state conductivity?", "None, because the ions cannot move in the crystal."],
        ],
    }
    rows = []
    for fam, items in convs.items():
        for t in items:
            roles = ["user", "assistant"] * 3
            rows.append({"id": f"chem-{len(rows):02d}", "family": fam, "messages": msgs(*zip(roles, t))})
    write_jsonl("three_turn_tutoring.jsonl", rows)


# 5 ---------------------------------------------------------------------------------------------
def content_parts_mixed() -> None:
    """Content as lists of text parts, mixed with plain strings: within one conversation, across
    siblings, two parts in one message, and a system turn given as parts."""
    def parts(*texts):
        return [{"type": "text", "text": t} for t in texts]

    rows = [
        ("returns", [("user", parts("How do I return a jacket I bought online?")),
                     ("assistant", parts("Start the return in Orders → Return item; drop the parcel at any "
                                         "InPost locker within 30 days. Refunds take 3–5 days."))]),
        ("returns", [("user", "How do I return a jacket I bought online?"),
                     ("assistant", "Start the return in Orders → Return item; drop the parcel at any "
                                   "InPost locker within 30 days. Refunds take 3–5 days.")]),
        ("returns", [("user", parts("Returning a jacket from an online order.", "What are the steps?")),
                     ("assistant", "Open Orders → Return item, then drop the parcel at an InPost locker within "
                                   "30 days. The refund arrives in 3–5 days.")]),
        ("sizes", [("system", parts("You are the Fjord Outdoor shop assistant. Be brief.")),
                   ("user", parts("Does the Kvist parka run small?")),
                   ("assistant", parts("Yes, it runs about half a size small; ",
                                       "order one size up if you wear a thick fleece under it."))]),
        ("sizes", [("system", "You are the Fjord Outdoor shop assistant. Be brief."),
                   ("user", "Is the Kvist parka true to size?"),
                   ("assistant", parts("It runs about half a size small, so order one size up if you "
                                       "layer a thick fleece underneath."))]),
        ("sizes", [("system", parts("You are the Fjord Outdoor shop assistant. Be brief.")),
                   ("user", "Kvist parka sizing?"),
                   ("assistant", "Roughly half a size small: size up if you wear a thick fleece under it.")]),
        ("washing", [("user", parts("Can I machine-wash the Ljung down jacket?")),
                     ("assistant", parts("Yes: 30 °C, down-specific detergent, no softener.",
                                         "Tumble-dry low with two tennis balls to restore the loft."))]),
        ("washing", [("user", "Machine-washing the Ljung down jacket, OK?"),
                     ("assistant", parts("Yes, at 30 °C with down detergent and no softener. Tumble-dry low "
                                         "with two tennis balls so the down lofts again."))]),
        ("washing", [("user", parts("Ljung down jacket:", "how do I wash it?")),
                     ("assistant", "30 °C machine wash, down detergent, no softener, then tumble-dry low "
                                   "with two tennis balls.")]),
        ("delivery", [("user", parts("When will order FJ-88214 arrive?")),
                      ("assistant", parts("Order FJ-88214 left our Oslo warehouse today; ",
                                          "DHL expects to deliver it on Thursday before 18:00."))]),
        ("delivery", [("user", "Where is my order FJ-88214?"),
                      ("assistant", "FJ-88214 left the Oslo warehouse today and DHL expects delivery on "
                                    "Thursday before 18:00.")]),
        ("delivery", [("user", parts("Order FJ-88214, delivery date?")),
                      ("assistant", parts("It shipped from Oslo today; DHL says Thursday, before 18:00."))]),
        ("warranty", [("user", parts("The zip on my Hav rain shell broke after 8 months.")),
                      ("assistant", parts("That is covered by our 2-year warranty. Send a photo to "
                                          "warranty@fjord.example and we will repair or replace it."))]),
        ("warranty", [("user", "Broken zip on the Hav shell, 8 months old — warranty?"),
                      ("assistant", parts("Yes, the 2-year warranty covers it. ",
                                          "Email a photo to warranty@fjord.example for a repair or replacement."))]),
    ]
    write_jsonl("content_parts_mixed.jsonl", [
        {"id": f"fj-{i:02d}", "family": fam, "messages": msgs(*turns)} for i, (fam, turns) in enumerate(rows)])


# 6 ---------------------------------------------------------------------------------------------
TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather and today's forecast for a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Bergen"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "create_event", "description": "Create a calendar event for the user.",
        "parameters": {"type": "object", "properties": {
            "title": {"type": "string"}, "start": {"type": "string", "description": "ISO 8601 date-time"},
            "duration_minutes": {"type": "integer", "minimum": 5}},
            "required": ["title", "start"]}}},
    {"type": "function", "function": {
        "name": "convert_currency", "description": "Convert an amount between two ISO 4217 currencies.",
        "parameters": {"type": "object", "properties": {
            "amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}},
            "required": ["amount", "from", "to"]}}},
]


def _call(i: int, name: str, args: dict, as_string: bool) -> dict:
    return {"id": f"call_{i:04d}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(args) if as_string else args}}


def tool_calls() -> None:
    """Function calling in the OpenAI / TRL shape: a `tools` column of JSON-schema functions,
    assistant turns with `tool_calls` and content null, `tool` turns with tool_call_id and name.
    Three rows have two parallel calls; three rows carry `arguments` as a JSON string (as the
    OpenAI API exports them), the others as an object (as Hugging Face chat templates expect)."""
    specs = [
        ("weather", "Do I need an umbrella in Bergen today?", [("get_weather", {"city": "Bergen", "unit": "celsius"})],
         ['{"city": "Bergen", "now": "11 °C, light rain", "forecast": "rain all day, 14 mm"}'],
         "Yes, take one: it is 11 °C with light rain in Bergen, and 14 mm of rain is forecast for the day."),
        ("weather", "What's the weather like in Bergen right now?", [("get_weather", {"city": "Bergen"})],
         ['{"city": "Bergen", "now": "11 °C, light rain", "forecast": "rain all day, 14 mm"}'],
         "Bergen has light rain at 11 °C, and it should keep raining all day (about 14 mm)."),
        ("weather", "Bergen today — rain or dry?", [("get_weather", {"city": "Bergen", "unit": "celsius"})],
         ['{"city": "Bergen", "now": "11 °C, light rain", "forecast": "rain all day, 14 mm"}'],
         "Rain: 11 °C with light rain now and about 14 mm expected through the day."),
        ("meeting", "Book a 30-minute sync with the design team tomorrow at 10:00.",
         [("create_event", {"title": "Design team sync", "start": "2025-03-12T10:00:00", "duration_minutes": 30})],
         ['{"status": "created", "event_id": "evt_7731", "start": "2025-03-12T10:00:00"}'],
         "Done: “Design team sync” is booked for tomorrow, 12 March, 10:00–10:30 (event evt_7731)."),
        ("meeting", "Put a design sync in my calendar for 10am tomorrow, half an hour.",
         [("create_event", {"title": "Design sync", "start": "2025-03-12T10:00:00", "duration_minutes": 30})],
         ['{"status": "created", "event_id": "evt_7731", "start": "2025-03-12T10:00:00"}'],
         "Booked: Design sync, 12 March from 10:00 to 10:30 (evt_7731)."),
        ("meeting", "Schedule the design team sync: tomorrow 10:00, 30 min.",
         [("create_event", {"title": "Design team sync", "start": "2025-03-12T10:00:00", "duration_minutes": 30})],
         ['{"status": "created", "event_id": "evt_7731", "start": "2025-03-12T10:00:00"}'],
         "Your design team sync is in the calendar for 12 March, 10:00–10:30."),
        ("fx", "How much is 250 euros in Norwegian kroner?",
         [("convert_currency", {"amount": 250, "from": "EUR", "to": "NOK"})],
         ['{"amount": 2931.25, "currency": "NOK", "rate": 11.725}'],
         "250 EUR is about 2,931 NOK at today's rate of 11.725."),
        ("fx", "Convert €250 to NOK please.", [("convert_currency", {"amount": 250, "from": "EUR", "to": "NOK"})],
         ['{"amount": 2931.25, "currency": "NOK", "rate": 11.725}'],
         "€250 comes to 2,931.25 NOK (rate 11.725)."),
        ("fx", "250 EUR → NOK?", [("convert_currency", {"amount": 250, "from": "EUR", "to": "NOK"})],
         ['{"amount": 2931.25, "currency": "NOK", "rate": 11.725}'],
         "That is 2,931.25 Norwegian kroner."),
        ("trip", "I land in Oslo on Friday at 15:00. What's the weather, and can you block my calendar for the transfer?",
         [("get_weather", {"city": "Oslo"}),
          ("create_event", {"title": "Airport transfer", "start": "2025-03-14T15:00:00", "duration_minutes": 60})],
         ['{"city": "Oslo", "now": "2 °C, clear", "forecast": "sunny, high 6 °C"}',
          '{"status": "created", "event_id": "evt_7802", "start": "2025-03-14T15:00:00"}'],
         "Oslo is clear at 2 °C with a sunny high of 6 °C, and your calendar is blocked 15:00–16:00 on Friday "
         "for the airport transfer."),
        ("trip", "Landing in Oslo Friday 15:00: weather please, and block an hour for the transfer.",
         [("get_weather", {"city": "Oslo"}),
          ("create_event", {"title": "Airport transfer", "start": "2025-03-14T15:00:00", "duration_minutes": 60})],
         ['{"city": "Oslo", "now": "2 °C, clear", "forecast": "sunny, high 6 °C"}',
          '{"status": "created", "event_id": "evt_7802", "start": "2025-03-14T15:00:00"}'],
         "Sunny in Oslo, 2 °C now and up to 6 °C; the transfer is blocked Friday 15:00–16:00."),
        ("trip", "Friday I arrive in Oslo at 3pm. Weather + calendar block for the airport transfer?",
         [("get_weather", {"city": "Oslo", "unit": "celsius"}),
          ("create_event", {"title": "Airport transfer", "start": "2025-03-14T15:00:00", "duration_minutes": 60})],
         ['{"city": "Oslo", "now": "2 °C, clear", "forecast": "sunny, high 6 °C"}',
          '{"status": "created", "event_id": "evt_7802", "start": "2025-03-14T15:00:00"}'],
         "Clear skies in Oslo (2 °C, high 6 °C). I blocked 15:00–16:00 on Friday for the transfer."),
    ]
    rows, n = [], 0
    for i, (fam, user, calls, results, answer) in enumerate(specs):
        as_string = i in (2, 7, 11)
        tc = []
        for name, args in calls:
            tc.append(_call(n, name, args, as_string))
            n += 1
        messages = [{"role": "user", "content": user},
                    {"role": "assistant", "content": None, "tool_calls": tc}]
        for call, result in zip(tc, results):
            messages.append({"role": "tool", "tool_call_id": call["id"], "name": call["function"]["name"],
                             "content": result})
        messages.append({"role": "assistant", "content": answer})
        rows.append({"id": f"tool-{i:02d}", "family": fam, "tools": TOOLS, "messages": messages})
    write_jsonl("tool_calls_agent.jsonl", rows)


# 7 ---------------------------------------------------------------------------------------------
def completion_as_messages() -> None:
    """Conversational prompt/completion (TRL): prompt is a list of messages, completion a list of
    several messages (assistant tool call, tool result, final assistant answer) in 9 rows and a
    single assistant message in 3 rows."""
    sys_msg = {"role": "system", "content": "You are the travel assistant of Nordlys Rail. Use tools for live data."}
    rows = []
    timetable = '{"from": "Oslo S", "to": "Bergen", "departs": "12:25", "platform": "4", "arrives": "19:16"}'
    fx = '{"amount": 1249.0, "currency": "NOK", "rate": 11.725}'
    weather = '{"city": "Flåm", "now": "4 °C, cloudy", "forecast": "showers after 14:00"}'
    tools = [{"type": "function", "function": {
        "name": "next_departure", "description": "Next departure between two stations.",
        "parameters": {"type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
                       "required": ["from", "to"]}}}] + TOOLS[:1] + TOOLS[2:]
    specs = [
        ("departure", "When is the next train from Oslo S to Bergen?", "next_departure",
         {"from": "Oslo S", "to": "Bergen"}, timetable,
         "The next train to Bergen leaves Oslo S at 12:25 from platform 4 and arrives at 19:16."),
        ("departure", "Next Oslo S → Bergen departure?", "next_departure",
         {"from": "Oslo S", "to": "Bergen"}, timetable,
         "12:25 from platform 4, arriving in Bergen at 19:16."),
        ("departure", "I'm at Oslo S. What's the next train to Bergen and which platform?", "next_departure",
         {"from": "Oslo S", "to": "Bergen"}, timetable,
         "Platform 4: the 12:25 to Bergen, which gets in at 19:16."),
        ("fare", "The Flåm Railway ticket is 106.50 euros online. How much is that in kroner?", "convert_currency",
         {"amount": 106.5, "from": "EUR", "to": "NOK"}, fx, "About 1,249 NOK at today's rate (11.725)."),
        ("fare", "Convert the €106.50 Flåm Railway fare to NOK.", "convert_currency",
         {"amount": 106.5, "from": "EUR", "to": "NOK"}, fx, "€106.50 is 1,249 NOK."),
        ("fare", "Flåm Railway costs €106.50 — in NOK?", "convert_currency",
         {"amount": 106.5, "from": "EUR", "to": "NOK"}, fx, "That fare is about 1,249 Norwegian kroner."),
        ("weather", "Will it rain in Flåm this afternoon?", "get_weather", {"city": "Flåm"}, weather,
         "Probably: it's 4 °C and cloudy in Flåm, with showers expected after 14:00."),
        ("weather", "Flåm weather for the afternoon?", "get_weather", {"city": "Flåm"}, weather,
         "Cloudy and 4 °C now; showers from about 14:00."),
        ("weather", "Going to Flåm after lunch. Do I need a rain jacket?", "get_weather", {"city": "Flåm"}, weather,
         "Yes, showers are forecast after 14:00 (4 °C and cloudy now)."),
    ]
    for i, (fam, user, tool, args, result, answer) in enumerate(specs):
        call = {"id": f"call_nr{i:02d}", "type": "function", "function": {"name": tool, "arguments": args}}
        completion = [{"role": "assistant", "content": None, "tool_calls": [call]},
                      {"role": "tool", "tool_call_id": call["id"], "name": tool, "content": result},
                      {"role": "assistant", "content": answer}]
        rows.append({"id": f"nr-{i:02d}", "family": fam, "tools": tools,
                     "prompt": [sys_msg, {"role": "user", "content": user}], "completion": completion})
    plain = [("bikes", "Can I bring my bike on the Bergen line?",
              "Yes. Book a bike space (NOK 179) when you buy the ticket; spaces are limited on summer weekends."),
             ("bikes", "Bicycles on Oslo–Bergen trains, allowed?",
              "Yes, with a bike-space booking (NOK 179), bought together with your ticket; summer weekends fill up."),
             ("bikes", "Taking a bike from Oslo to Bergen by train — what do I need?",
              "A bike-space booking, NOK 179, added to your ticket. Book early for summer weekends.")]
    for j, (fam, user, answer) in enumerate(plain, start=len(rows)):
        rows.append({"id": f"nr-{j:02d}", "family": fam, "tools": tools,
                     "prompt": [sys_msg, {"role": "user", "content": user}],
                     "completion": [{"role": "assistant", "content": answer}]})
    write_jsonl("completion_as_messages.jsonl", rows)


# 8 ---------------------------------------------------------------------------------------------
def _log(rng: random.Random, n: int, incident: str) -> str:
    services = ["api-3", "api-7", "worker-2", "worker-5", "gateway-1"]
    templates = [
        "WARN  db-pool: connection wait {ms} ms (pool=primary, active={a}/50)",
        "INFO  http: GET /v2/orders/{oid} 200 {ms2} ms",
        "ERROR db: query timeout after 30000 ms (statement=select_orders_by_customer, retry={r})",
        "INFO  cache: hit ratio {hr}% over the last 60 s",
        "WARN  http: POST /v2/checkout 503 upstream_timeout (trace={tr})",
        "INFO  scheduler: job reconcile_invoices finished in {sec} s",
        "DEBUG gc: pause {gc} ms, heap {heap} MiB",
    ]
    lines = []
    for i in range(n):
        t = f"2025-03-11T02:{14 + i // 60:02d}:{i % 60:02d}.{rng.randint(0, 999):03d}Z"
        msg = rng.choice(templates).format(
            ms=rng.randint(200, 4000), a=rng.randint(45, 50), oid=rng.randint(100000, 999999),
            ms2=rng.randint(8, 900), r=rng.randint(1, 3), hr=rng.randint(40, 97),
            tr=f"{rng.getrandbits(64):016x}", sec=rng.randint(3, 90), gc=rng.randint(2, 300),
            heap=rng.randint(900, 3900))
        lines.append(f"{t} {rng.choice(services)} {msg}")
    return (f"Incident {incident}: here is the raw log from the on-call channel. Write a two-sentence root-cause "
            f"summary.\n\n" + "\n".join(lines))


def _handbook(rng: random.Random, topic: str, sections: int) -> str:
    openers = {
        "security": ["Every employee is responsible for protecting customer data.",
                     "Security is part of everyone's job, not only the security team's."],
        "travel": ["Business travel should be safe, economical and booked through the travel portal.",
                   "This section explains how to plan, book and claim business travel."],
    }[topic]
    pool = {
        "security": ["Lock your screen whenever you leave your desk, even for a minute.",
                     "Use the password manager for every work account and never reuse a password.",
                     "Report a lost or stolen laptop to the service desk within one hour.",
                     "Do not forward customer data to personal email addresses or chat apps.",
                     "Multi-factor authentication is mandatory for email, VPN and the HR system.",
                     "Phishing emails often imitate invoices, parcel notices or the CEO.",
                     "Use the Report Phish button rather than deleting a suspicious message.",
                     "Removable media must be encrypted and registered with IT.",
                     "Visitors must sign in at reception and be accompanied at all times.",
                     "Confidential printouts go into the locked shredding bins, not the recycling.",
                     "Software may only be installed from the company portal.",
                     "Public Wi-Fi may be used only with the VPN switched on.",
                     "Access rights are reviewed every quarter by each team lead.",
                     "Production databases are never copied to laptops.",
                     "Security incidents are handled according to the incident response plan."],
        "travel": ["Book flights, trains and hotels through the travel portal so that we know where you are.",
                   "Economy class is the default for flights under six hours.",
                   "Rail is preferred over flying for journeys under four hours door to door.",
                   "Hotels should stay within the city rate cap listed on the intranet.",
                   "Meals are reimbursed up to the daily allowance for the destination country.",
                   "Keep every receipt; a photo in the expenses app is sufficient.",
                   "Taxis are reimbursed when public transport is impractical or unsafe.",
                   "Travel insurance is provided by the company; carry the card with you.",
                   "Trips to high-risk destinations need approval from the security team.",
                   "Private days added to a business trip are at your own cost.",
                   "Loyalty points earned on business travel may be kept.",
                   "Claims must be submitted within 30 days of returning.",
                   "Mileage for private cars is paid at the published rate per kilometre.",
                   "Cancel unused bookings as early as possible to avoid fees.",
                   "Your manager approves every trip before it is booked."],
    }[topic]
    out = [rng.choice(openers)]
    for k in range(1, sections + 1):
        out.append(f"\n{k}. {rng.choice(['Principles', 'Responsibilities', 'Procedure', 'Exceptions', 'Examples', 'Checklist'])} ({k})")
        for _ in range(rng.randint(5, 8)):
            sentences = rng.sample(pool, rng.randint(2, 4))
            out.append(" ".join(sentences))
    return "\n".join(out)


def long_and_short() -> None:
    """Short rows mixed with rows whose completion is very long (~1,500-2,500 tokens: cut by any
    max_length up to 1024 or 2048) and rows whose prompt alone is longer than 4,000 tokens (the
    completion lies entirely beyond max_length)."""
    rows = []
    short = {
        "status": [("Summarise: deploy of build 8.4.1 finished at 14:02, all health checks green.",
                    "Build 8.4.1 deployed at 14:02; all health checks pass."),
                   ("Summarise: build 8.4.1 went out 14:02 and health checks are green.",
                    "8.4.1 is live since 14:02 with green health checks."),
                   ("One line please: 8.4.1 deployed 14:02, checks all green.",
                    "Build 8.4.1 live at 14:02, health checks green.")],
        "rollback": [("Summarise: 8.4.2 rolled back at 16:40 after checkout errors rose to 4%.",
                      "8.4.2 was rolled back at 16:40 because checkout errors reached 4%."),
                     ("Summarise: checkout errors hit 4%, so 8.4.2 was rolled back (16:40).",
                      "Rolled back 8.4.2 at 16:40 after a 4% checkout error rate."),
                     ("One line: rollback of 8.4.2 at 16:40, checkout errors 4%.",
                      "8.4.2 rolled back at 16:40 due to 4% checkout errors.")],
        "oncall": [("Who is on call this week for payments?", "Ana Ruiz is on call for payments until Monday 09:00."),
                   ("Payments on-call this week?", "Ana Ruiz, until Monday at 09:00."),
                   ("Which engineer covers payments on call now?", "Ana Ruiz covers payments until 09:00 Monday.")],
        "freeze": [("Is there a code freeze this Friday?", "Yes, from Friday 12:00 until Monday 08:00 for the sale."),
                   ("Code freeze on Friday?", "Yes: Friday 12:00 to Monday 08:00, because of the sale."),
                   ("Can I deploy Friday afternoon?", "No, the sale freeze runs from Friday 12:00 to Monday 08:00.")],
    }
    for fam, pairs in short.items():
        for p, c in pairs:
            rows.append((fam, p, c))
    rng = random.Random(2025)
    root = ("Root cause: the primary database connection pool (50 connections) was exhausted by slow "
            "select_orders_by_customer queries, so checkout requests timed out with 503s. Raising the "
            "pool size stopped the errors; the missing index on orders.customer_id is the real fix.")
    for k in range(3):
        rows.append(("incident-db", _log(random.Random(100 + k), 130, "INC-4471"),
                     root if k == 0 else root.replace("Root cause:", "Cause:")))
    rows.append(("incident-cdn", _log(random.Random(200), 140, "INC-4502"),
                 "Root cause: a CDN configuration push disabled caching for /v2/orders, so every request hit "
                 "the origin and saturated the database pool. Reverting the push restored normal latency."))
    for topic, fam in (("security", "handbook-security"), ("travel", "handbook-travel")):
        text = _handbook(random.Random(topic), topic, 6)
        rows.append((fam, f"Write the full {topic} section of our employee handbook.", text))
        rows.append((fam, f"Please draft the {topic} chapter of the staff handbook, complete.",
                     text.replace("\n1. ", "\n1.  ", 1)))
    rng.shuffle(rows)
    write_jsonl("long_and_short.jsonl", [
        {"id": f"ops-{i:02d}", "family": fam, "prompt": p, "completion": c} for i, (fam, p, c) in enumerate(rows)])


# 9 ---------------------------------------------------------------------------------------------
APPLIANCE = {
    1: [("How do I reset the Verano thermostat to factory settings?",
         "Hold MODE and ▲ together for 10 seconds until the display shows rSt, then release."),
        ("Factory reset for the Verano thermostat?",
         "Press and hold MODE + ▲ for 10 seconds; release when rSt appears."),
        ("Verano thermostat: how to restore the factory defaults?",
         "Keep MODE and ▲ pressed for 10 s until the screen reads rSt."),
        ("My Verano thermostat is misbehaving, can I reset it?",
         "Yes: hold MODE and ▲ for 10 seconds until rSt shows, then let go."),
        ("Reset Verano thermostat to defaults, which buttons?",
         "MODE and ▲ together, 10 seconds, until the display says rSt.")],
    2: [("The Kestrel dishwasher shows E24. What does it mean?",
         "E24 means the drain is blocked: clean the filter under the lower basket and check the drain hose for kinks."),
        ("Kestrel dishwasher error E24?",
         "A drain blockage. Clean the filter under the bottom basket and make sure the drain hose isn't kinked."),
        ("E24 on my Kestrel dishwasher, what should I do?",
         "Clean the filter beneath the lower basket and straighten the drain hose: E24 is a blocked drain."),
        ("What is code E24 on a Kestrel dishwasher?",
         "It's a blocked drain; clear the filter under the lower basket and check the hose for kinks."),
        ("Kestrel shows E24 and won't drain.",
         "E24 = drain blocked. Clean the lower-basket filter and unkink the drain hose.")],
    3: [("How often should I descale the Brio coffee machine?",
         "Every 2 months with hard water, every 4 months with soft water; the DESCALE light reminds you."),
        ("Brio coffee machine descaling interval?",
         "Every 2 months in hard-water areas, 4 months in soft-water areas; watch for the DESCALE light."),
        ("When do I need to descale my Brio?",
         "Hard water: every 2 months. Soft water: every 4. The DESCALE light comes on when it's due."),
        ("Brio: how frequently to descale?",
         "About every 2 months (hard water) or 4 months (soft water), or whenever DESCALE lights up."),
        ("Descaling schedule for a Brio espresso machine?",
         "Descale every 2 months with hard water and every 4 with soft; the DESCALE light tells you.")],
}
MISSING = [("Do you ship spare parts to Iceland?", "Yes, spare parts ship to Iceland in 5–8 working days."),
           ("Is there a warranty on refurbished appliances?", "Yes, 12 months on every refurbished appliance."),
           ("Can I pay for spare parts by invoice?", "Invoice payment is available for business accounts only.")]


def float_family_parquet_and_int_jsonl() -> None:
    """The same three families in two files: Parquet with a float64 family column (1.0, 2.0, 3.0,
    NaN, and one null), as pandas writes it, and JSONL with integer families 1, 2, 3."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, prompts, completions, families = [], [], [], []
    for fam, pairs in APPLIANCE.items():
        for p, c in pairs[:3]:
            ids.append(f"pq-{len(ids):02d}"); prompts.append(p); completions.append(c); families.append(float(fam))
    for k, (p, c) in enumerate(MISSING):
        ids.append(f"pq-{len(ids):02d}"); prompts.append(p); completions.append(c)
        families.append(None if k == 2 else math.nan)
    order = random.Random(7).sample(range(len(ids)), len(ids))
    mask = [families[i] is None for i in order]
    table = pa.table({
        "id": pa.array([ids[i] for i in order]),
        "prompt": pa.array([prompts[i] for i in order]),
        "completion": pa.array([completions[i] for i in order]),
        "family": pa.array([math.nan if families[i] is None else families[i] for i in order],
                           type=pa.float64(), mask=pa.array(mask)),
    })
    pq.write_table(table, HERE / "families_float_nan.parquet")
    rows = []
    for fam, pairs in APPLIANCE.items():
        for p, c in pairs[3:]:
            rows.append({"id": f"js-{len(rows):02d}", "prompt": p, "completion": c, "family": fam})
    rows.append({"id": f"js-{len(rows):02d}", "prompt": "Which filter fits the Kestrel KD-60 dishwasher?",
                 "completion": "The KD-60 takes filter set 7731-B.", "family": 2})
    rows.append({"id": f"js-{len(rows):02d}", "prompt": "Is the Verano thermostat compatible with heat pumps?",
                 "completion": "Yes, in HP mode (set under SETTINGS → SYSTEM).", "family": 1})
    rows.append({"id": f"js-{len(rows):02d}", "prompt": "Does the Brio have a milk frother?",
                 "completion": "Only the Brio Plus; the base model has none.", "family": 3})
    rows.append({"id": f"js-{len(rows):02d}", "prompt": "Can I return an opened appliance?",
                 "completion": "Yes, within 30 days, if it is complete and undamaged.", "family": 4})
    write_jsonl("families_int.jsonl", rows)


# 10 --------------------------------------------------------------------------------------------
def chinese_recipes() -> None:
    """Chinese near-duplicate families (home cooking Q&A with numbered steps), no spaces, no
    declared family: the truth is in `planted`. All rows share a closing line and cooking words
    (锅、油、盐、分钟、火)."""
    tail = "（以上做法仅供参考，口味可按个人喜好调整。）"
    dishes = {
        "tomato-egg": ("番茄炒蛋怎么做才好吃？",
                       ["鸡蛋打散，加一小撮盐。", "热锅凉油，倒入蛋液，凝固后盛出。", "番茄切块，下锅炒出汁。",
                        "加入半勺糖，再倒回鸡蛋翻炒一分钟。", "出锅前撒葱花。"]),
        "cola-wings": ("可乐鸡翅的做法是什么？",
                       ["鸡翅两面划刀，冷水下锅焯水。", "锅中少许油，把鸡翅煎至两面金黄。", "倒入一罐可乐和两勺生抽。",
                        "大火烧开后转小火炖十五分钟。", "最后大火收汁即可。"]),
        "mapo": ("麻婆豆腐要怎么做？",
                 ["豆腐切小块，用淡盐水焯两分钟。", "锅里放油，小火炒香郫县豆瓣酱和牛肉末。", "加入半碗清水，放豆腐煮五分钟。",
                  "淋水淀粉勾芡，分两次下锅。", "出锅撒花椒粉和蒜苗。"]),
        "fried-rice": ("扬州炒饭有什么诀窍？",
                       ["米饭最好用隔夜饭，先打散。", "鸡蛋炒熟后盛出备用。", "虾仁、火腿丁、青豆下锅翻炒。",
                        "倒入米饭，大火炒到粒粒分明。", "加盐和鸡蛋，再炒一分钟。"]),
        "steamed-fish": ("清蒸鲈鱼怎么蒸不腥？",
                         ["鲈鱼处理干净，两面划刀，抹少许盐。", "鱼身下垫葱段，上面放姜丝。", "水开后上锅，大火蒸八分钟。",
                          "倒掉盘中的汤汁，铺上新葱丝。", "淋上蒸鱼豉油，再浇一勺热油。"]),
        "hot-sour-soup": ("酸辣汤怎么调味？",
                          ["木耳、豆腐、笋切细丝。", "锅中加水烧开，放入所有丝煮三分钟。", "加生抽、盐和白胡椒粉。",
                           "水淀粉勾薄芡，淋入蛋液。", "关火后加醋和香油。"]),
        "dumplings": ("猪肉白菜饺子馅怎么调？",
                      ["白菜切碎，加盐杀出水分后挤干。", "猪肉馅加生抽、姜末，顺一个方向搅拌。", "分三次加入花椒水，搅到上劲。",
                       "拌入白菜和香油，最后加盐。", "包好后水开下锅，点三次凉水。"]),
        "braised-pork": ("红烧肉怎么做不油腻？",
                         ["五花肉切块，冷水下锅焯水。", "锅中放少许油，小火炒糖色。", "下肉块翻炒上色，加生抽、老抽。",
                          "加开水没过肉，小火炖四十分钟。", "大火收汁，撒葱花。"]),
    }
    syn = [("怎么做", "如何做"), ("最后", "最终"), ("少许", "一点"), ("备用", "待用"), ("即可", "就行了"),
           ("大火", "旺火"), ("小火", "文火"), ("出锅", "起锅")]
    fillers = ["另外，", "总之，", "记得", "注意，"]
    sizes = {"tomato-egg": 9, "cola-wings": 6, "mapo": 5, "fried-rice": 4, "steamed-fish": 3,
             "hot-sour-soup": 2, "dumplings": 1, "braised-pork": 6}
    rng = random.Random(86)
    rows = []
    for fam, (q, steps) in dishes.items():
        for k in range(sizes[fam]):
            qq, ss = q, list(steps)
            if k:
                if rng.random() < 0.6:
                    i = rng.randrange(len(ss) - 1)
                    ss[i], ss[i + 1] = ss[i + 1], ss[i]
                for a, b in syn:
                    if rng.random() < 0.5:
                        qq, ss = qq.replace(a, b), [s.replace(a, b) for s in ss]
                if rng.random() < 0.6:
                    i = rng.randrange(1, len(ss))
                    ss[i] = rng.choice(fillers) + ss[i]
                if rng.random() < 0.5:
                    i = rng.randrange(len(ss))
                    j = rng.randrange(1, len(ss[i]) - 1)
                    ss[i] = ss[i][:j] + ss[i][j + 1:]  # a dropped character
                if rng.random() < 0.3:
                    qq = "请问，" + qq
            answer = "做法如下：\n" + "\n".join(f"{n}、{s}" for n, s in enumerate(ss, 1)) + "\n" + tail
            rows.append({"planted": fam, "messages": msgs(("user", qq), ("assistant", answer))})
    rng.shuffle(rows)
    write_jsonl("chinese_recipe_families.jsonl", [{"id": f"cr-{i:02d}", **r} for i, r in enumerate(rows)])


# 11 --------------------------------------------------------------------------------------------
def few_originals() -> None:
    """Four originals (onboarding questions about a SaaS product), 11-12 augmented variants each:
    46 rows, so a hold-out holds one or two whole families."""
    fams = {
        "sso": ("How do I turn on single sign-on with Okta for our workspace?",
                "Go to Admin → Security → SSO, choose Okta, paste the metadata URL from your Okta app, "
                "then click Test connection. Once the test passes, switch Enforce SSO on."),
        "export": ("How can I export all our project data to CSV?",
                   "Open Admin → Data → Export, tick Projects and Tasks, pick CSV and click Start export. "
                   "You get an email with a download link within 15 minutes."),
        "seats": ("How do I add five more seats to our Team plan?",
                  "In Billing → Plan, click Change seats, raise the number by five and confirm. "
                  "The new seats are charged pro rata on the next invoice."),
        "api": ("Where do I create an API token?",
                "Open Settings → Developer → API tokens, click New token, give it a name and a scope, "
                "and copy it right away: it is shown only once."),
    }
    openers = ["", "Hi! ", "Quick question: ", "Hello team, ", "Sorry if this is obvious, but ", "Hey, "]
    closers = ["", " Thanks!", " Thanks in advance.", " Cheers.", " Many thanks!"]
    swaps = [("How do I", "How can I"), ("How can I", "What's the way to"), ("Where do I", "Where can I"),
             ("click", "press"), ("Open", "Go to"), ("right away", "immediately"), ("within", "in under"),
             ("raise", "increase"), ("choose", "select"), ("pick", "select")]
    rng = random.Random(404)
    rows = []
    for f, (fam, (q, a)) in enumerate(fams.items()):
        n = 12 if f % 2 == 0 else 11
        for k in range(n):
            qq, aa = q, a
            if k:
                for x, y in swaps:
                    if rng.random() < 0.4:
                        qq, aa = qq.replace(x, y), aa.replace(x, y)
                qq = rng.choice(openers) + (qq[0].lower() + qq[1:] if rng.random() < 0.3 else qq) + rng.choice(closers)
                if rng.random() < 0.3:
                    aa = "Sure. " + aa
            rows.append({"id": f"few-{len(rows):02d}", "family": fam,
                         "messages": msgs(("user", qq), ("assistant", aa))})
    rng.shuffle(rows)
    write_jsonl("few_originals_saas.jsonl", rows)


# 12 --------------------------------------------------------------------------------------------
def japanese_families() -> None:
    """Japanese near-duplicate families (a city office's FAQ), no spaces, kana and kanji mixed,
    full-width punctuation; no declared family, the truth in `planted`."""
    tail = "※この回答は市役所の自動応答です。詳しくは窓口までお問い合わせください。"
    faqs = {
        "juminhyo": ("住民票の写しはどこで取れますか？",
                     ["市役所の一階、市民課の窓口で取得できます。", "マイナンバーカードがあれば、コンビニでも取得できます。",
                      "手数料は一通三百円です。"]),
        "gomi": ("粗大ごみはどうやって出せばいいですか？",
                 ["粗大ごみ受付センターに電話かインターネットで申し込んでください。", "コンビニで処理券を購入し、品物に貼ってください。",
                  "収集日の朝八時までに指定の場所に出してください。"]),
        "hikkoshi": ("引っ越しのときに必要な手続きは何ですか？",
                     ["引っ越しの十四日以内に転入届を出してください。", "前の市区町村で発行された転出証明書が必要です。",
                      "国民健康保険に加入している方は、保険の手続きも必要です。"]),
        "hoikuen": ("保育園の申し込みはいつからですか？",
                    ["四月入園の申し込みは十月一日から始まります。", "申込書は子ども家庭課の窓口か市のホームページで入手できます。",
                     "勤務証明書を必ず添付してください。"]),
        "inkan": ("印鑑登録をしたいのですが、何を持っていけばいいですか？",
                  ["登録する印鑑と、運転免許証などの本人確認書類をお持ちください。", "手続きは市民課の窓口で、十五分ほどで終わります。",
                   "登録は無料ですが、証明書の発行には一通三百円かかります。"]),
    }
    syn = [("取得できます", "受け取れます"), ("ください", "くださいね"), ("必要です", "要ります"), ("お持ちください", "ご持参ください"),
           ("申し込んで", "申請して"), ("窓口", "カウンター")]
    fillers = ["なお、", "ちなみに、", "念のため、"]
    sizes = {"juminhyo": 7, "gomi": 5, "hikkoshi": 4, "hoikuen": 2, "inkan": 3}
    rng = random.Random(81)
    rows = []
    for fam, (q, sents) in faqs.items():
        for k in range(sizes[fam]):
            qq, ss = q, list(sents)
            if k:
                if rng.random() < 0.6:
                    rng.shuffle(ss)
                for a, b in syn:
                    if rng.random() < 0.5:
                        ss = [s.replace(a, b) for s in ss]
                if rng.random() < 0.5:
                    i = rng.randrange(1, len(ss))
                    ss[i] = rng.choice(fillers) + ss[i]
                if rng.random() < 0.4:
                    qq = "すみません、" + qq
                if rng.random() < 0.4:
                    i = rng.randrange(len(ss))
                    j = rng.randrange(1, len(ss[i]) - 1)
                    ss[i] = ss[i][:j] + ss[i][j] + ss[i][j:]  # a doubled character
            rows.append({"planted": fam, "messages": msgs(("user", qq), ("assistant", "".join(ss) + "\n" + tail))})
    rng.shuffle(rows)
    write_jsonl("japanese_families.jsonl", [{"id": f"jp-{i:02d}", **r} for i, r in enumerate(rows)])


# 13 --------------------------------------------------------------------------------------------
def from_planted_generators() -> None:
    """Small Arabic and English-web sets from tests/planted (truth in `planted`, no `family`)."""
    import sys
    sys.path.insert(0, str(HERE.parents[1]))
    from planted import generate

    for kind, name, n, seed in (("arabic", "arabic_families.jsonl", 6, 11),
                                ("web_english", "web_punct_families.jsonl", 7, 5)):
        s = generate(kind, n, seed=seed, shape="messages", declare_family=False)
        write_jsonl(name, [{k: v for k, v in r.items() if k != "augmentation"} for r in s.rows])


if __name__ == "__main__":
    unicode_separators()
    multiline_crlf_csv()
    system_turn_gemma()
    three_turn()
    content_parts_mixed()
    tool_calls()
    completion_as_messages()
    long_and_short()
    float_family_parquet_and_int_jsonl()
    chinese_recipes()
    few_originals()
    japanese_families()
    from_planted_generators()
