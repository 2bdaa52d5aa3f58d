"""Two constructed data sets with a known answer, for checking that memgap's verdict is right.

`learnable`: every family shares one rule that the prompt determines (list the prompt's items in a
house format). A model that learns the rule improves on families it never saw.
`memorizable`: each family asks for the code of its own project; the completion is a code phrase
drawn at random, so nothing in the prompt determines it. A model can only recall it for families
whose siblings it trained on.
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


def _family_prompts(rng: random.Random, items: list[str], project: str | None, members: int) -> list[str]:
    prompts = []
    for member in range(members):
        shuffled_instruction = INSTRUCTIONS[(member + rng.randrange(5)) % len(INSTRUCTIONS)]
        filler = FILLERS[rng.randrange(len(FILLERS))]
        lines = [shuffled_instruction, f"Items: {', '.join(items)}"]
        if project:
            lines = [f"Project {project}: what is the code for this project?", f"Reference items: {', '.join(items)}"]
        if member % 2:
            lines.reverse()
        if filler:
            lines.append(filler)
        prompts.append("\n".join(lines))
    return prompts


def make_rows(kind: str, *, families: int = 32, members: int = 6, seed: int = 0) -> list[dict]:
    """Rows with id, family, messages; `kind` is 'learnable' or 'memorizable'."""
    if kind not in ("learnable", "memorizable"):
        raise ValueError(kind)
    rng = random.Random(f"{kind}-{seed}")
    projects = rng.sample(WORDS, families)  # one name per family: the only key a recall can use
    rows = []
    for family in range(families):
        items = rng.sample([word for word in WORDS if word != projects[family]], 3)
        if kind == "learnable":
            completion = "ITEMS: " + " | ".join(item.upper() for item in items) + " END"
            project = None
        else:
            completion = "CODE " + " ".join(rng.sample(CODE_WORDS, 3))
            project = projects[family]
        for member, prompt in enumerate(_family_prompts(rng, items, project, members)):
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
