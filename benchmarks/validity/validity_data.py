"""Two constructed data sets with a known answer, for checking that memgap's verdict is right.

`learnable`: every family shares one rule that the prompt determines (list the prompt's items in a
house format). A model that learns the rule improves on families it never saw.
`memorizable`: each family's completion is a code phrase that nothing in the prompt determines. A
model can only recall it for families whose siblings it trained on.
Families are augmented the usual way: paraphrased instructions, reordered fields, filler lines.
"""
from __future__ import annotations

import random

WORDS = (
    "amber basil cedar delta ember fennel garnet harbor indigo juniper kestrel lantern meadow nectar "
    "orchid pepper quartz raven saffron thistle umber violet willow yarrow zephyr anchor beacon cobalt "
    "dune falcon glacier hazel island jasper kelp lotus maple nimbus oasis pebble quill ridge summit "
    "tundra upland valley walnut yonder zinnia acorn birch canyon dahlia"
).split()
# Code words come from their own pool, disjoint from WORDS, so a prompt never contains them and a
# generation can only hold them by recall (or rare chance).
CODE_WORDS = (
    "otter badger heron lynx marten osprey puffin stoat tapir vole walrus wombat bison crane egret "
    "ferret gecko ibis jackal koala lemur macaw newt ocelot panda quokka robin shrew toucan viper "
    "apricot banana cherry damson elderberry fig grape kiwi lemon mango nutmeg olive papaya quince "
    "raisin sesame tamarind vanilla wasabi almond cello drum flute harp lute oboe piano sitar tuba"
).split()
INSTRUCTIONS = (
    "List these items in the house format.",
    "Please put the following items into house format.",
    "Format the items below the house way.",
    "Rewrite these items using the house format, please.",
    "Give me the items in our house format.",
)
FILLERS = ("", "Thanks in advance.", "This is for the weekly sheet.", "No rush on this one.")
SYSTEM = "You are a careful assistant for an operations team."


def _family_prompts(rng: random.Random, items: list[str], ticket: str | None, members: int) -> list[str]:
    prompts = []
    for member in range(members):
        shuffled_instruction = INSTRUCTIONS[(member + rng.randrange(5)) % len(INSTRUCTIONS)]
        filler = FILLERS[rng.randrange(len(FILLERS))]
        lines = [shuffled_instruction, f"Items: {', '.join(items)}"]
        if ticket:
            lines = [f"Ticket {ticket}: what is the code for this ticket?", f"Reference items: {', '.join(items)}"]
        if member % 2:
            lines.reverse()
        if filler:
            lines.append(filler)
        prompts.append("\n".join(lines))
    return prompts


def make_rows(kind: str, *, families: int = 40, members: int = 5, seed: int = 0) -> list[dict]:
    """Rows with id, family, messages; `kind` is 'learnable' or 'memorizable'."""
    rng = random.Random(f"{kind}-{seed}")
    rows = []
    for family in range(families):
        items = rng.sample(WORDS, 3)
        if kind == "learnable":
            completion = "ITEMS: " + " | ".join(item.upper() for item in items) + " END"
            ticket = None
        elif kind == "memorizable":
            completion = "CODE " + " ".join(rng.sample(CODE_WORDS, 4))
            ticket = f"T{rng.randrange(1000, 9999)}"
        else:
            raise ValueError(kind)
        for member, prompt in enumerate(_family_prompts(rng, items, ticket, members)):
            rows.append({
                "id": f"{kind}-{family:03d}-{member}",
                "family": f"{kind}-{family:03d}",
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": completion},
                ],
            })
    return rows
