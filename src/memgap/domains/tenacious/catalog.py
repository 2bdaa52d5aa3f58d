"""The raw material of the Tenacious data set: names, stacks, segments, news, signals, objections.

Kept apart from the generator so that the pools can grow without touching the logic that draws
from them. Everything here is plain data; nothing is random until the generator samples it.
"""
from __future__ import annotations

FIRM = "Tenacious"

SEGMENTS = ("recently_funded", "restructuring", "mature_enterprise", "ai_transformation")

SEGMENT_LABELS = {
    "recently_funded": "recently funded startup",
    "restructuring": "restructuring, cutting cost",
    "mature_enterprise": "mature enterprise",
    "ai_transformation": "AI transformation",
}

NAME_HEADS = (
    "Lumen", "Northwind", "Cobalt", "Harbor", "Quill", "Tessel", "Brightwater", "Granite", "Juniper",
    "Kestrel", "Marrow", "Orchard", "Pylon", "Redfern", "Saltmarsh", "Tidewell", "Umber", "Vantage",
    "Willow", "Yarrow", "Alder", "Beacon", "Cinder", "Drumlin", "Ember", "Fathom", "Gable", "Heron",
    "Ironbark", "Jasper", "Kiln", "Larch", "Meridian", "Nimbus", "Oakridge", "Pebble", "Quarry",
    "Rook", "Sable", "Thistle", "Upland", "Verity", "Wren", "Zephyr", "Copperline", "Halcyon",
    "Lattice", "Mosaic", "Parcel", "Stellate", "Arbor", "Bramble", "Caldera", "Delta", "Estuary", "Fennel",
    "Glacier", "Hollow", "Indigo", "Jetty", "Kelp", "Lantern", "Marlin", "Nettle", "Obsidian", "Prairie",
    "Quartz", "Ridgeway", "Sorrel", "Talon", "Ultra", "Vesper", "Wicker", "Xylo", "Yonder", "Zinnia",
    "Anvil", "Bluff", "Cypress", "Dune", "Eddy", "Flint", "Grove", "Hearth", "Isle", "Juno",
    "Keystone", "Lode", "Mistral", "Nova", "Onyx", "Pinnacle", "Quay", "Rivet", "Spruce", "Tundra",
)
NAME_TAILS = (
    "Labs", "Systems", "Works", "Group", "Technologies", "Digital", "Cloud", "Networks", "Software",
    "Dynamics", "Industries", "Ventures", "Interactive", "Platforms", "Company", "Collective",
)

INDUSTRIES = (
    "fintech", "health tech", "logistics", "retail", "insurance", "edtech", "energy", "travel",
    "media", "proptech", "biotech", "cybersecurity", "food delivery", "mobility", "B2B SaaS",
)

CITIES = ("Toronto", "Austin", "Lisbon", "Denver", "Dublin", "Atlanta", "Warsaw", "Raleigh", "Madrid", "Boston")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")

FIRST_NAMES = (
    "Priya", "Daniel", "Amara", "Tomasz", "Lena", "Marcus", "Aisha", "Jonas", "Mei", "Carlos", "Nadia",
    "Oliver", "Fatima", "Hiroshi", "Grace", "Mateo", "Ingrid", "Kwame", "Sofia", "Rahul", "Elena",
    "Samuel", "Yara", "Lucas", "Hannah", "Omar", "Chloe", "Viktor", "Zanele", "Ethan",
)
LAST_NAMES = (
    "Raman", "Okafor", "Lindqvist", "Kowalski", "Brennan", "Alvarez", "Haddad", "Fischer", "Tanaka",
    "Mensah", "Duarte", "Novak", "Castillo", "Byrne", "Iyer", "Moreau", "Petrov", "Nakamura", "Adeyemi",
    "Santos", "Keller", "Osei", "Larsen", "Quinn",
)
TITLES = ("CTO", "VP Engineering", "Head of Engineering", "Director of Engineering", "Head of Platform", "Engineering Manager")

SENDERS = ("Sam Ortiz", "Maya Chen", "Leo Hartmann", "Ruth Adebayo", "Nina Kovac", "Tariq Aziz", "Julia Moss", "Ben Arlow")

# Canonical stack name -> how a role on it is written, and regexes the scorer uses to find it.
STACKS = {
    "Python": {"role": "Python", "patterns": (r"\bPython\b",)},
    "Go": {"role": "Go", "patterns": (r"\bGolang\b", r"\bGo(?=[ -](?:engineer|developer|backend|service|role))")},
    "Java": {"role": "Java", "patterns": (r"\bJava\b",)},
    "TypeScript": {"role": "TypeScript", "patterns": (r"\bTypeScript\b", r"\bNode(?:\.js)?\b")},
    "React": {"role": "React", "patterns": (r"\bReact\b",)},
    "Rust": {"role": "Rust", "patterns": (r"\bRust\b",)},
    "Kotlin": {"role": "Kotlin", "patterns": (r"\bKotlin\b", r"\bAndroid\b")},
    "Swift": {"role": "Swift", "patterns": (r"\bSwift\b", r"\biOS\b")},
    "Ruby": {"role": "Ruby", "patterns": (r"\bRuby\b", r"\bRails\b")},
    ".NET": {"role": ".NET", "patterns": (r"(?<![\w])\.NET\b", r"\bC#")},
    "data": {"role": "data", "patterns": (r"\bdata engineer",)},
    "ML": {"role": "ML", "patterns": (r"\bML\b", r"\bmachine[- ]learning engineer")},
    "DevOps": {"role": "DevOps", "patterns": (r"\bDevOps\b", r"\bSRE\b", r"\bplatform engineer")},
}
GENERAL_STACKS = ("Python", "Go", "Java", "TypeScript", "React", "Rust", "Kotlin", "Swift", "Ruby", ".NET", "DevOps")
AI_STACKS = ("ML", "data", "Python")
SENIORITIES = ("junior", "mid-level", "senior", "staff")

# Funding events by segment; amounts in millions of US dollars.
FUNDING_ROUNDS = ("Seed", "Series A", "Series B", "Series C")

NEWS = {
    "recently_funded": (
        "opened a {city} office in {month}",
        "launched a self-serve plan in {month}",
        "signed its first enterprise customer in {month}",
        "announced a public API in {month}",
        "moved its headquarters to {city} in {month}",
        "named a new VP of Product in {month}",
    ),
    "restructuring": (
        "cut {pct}% of staff in {month}",
        "closed its {city} office in {month}",
        "paused two product lines in {month}",
        "announced a cost review in {month}",
        "merged its mobile and web teams in {month}",
        "replaced its CFO in {month}",
    ),
    "mature_enterprise": (
        "announced a cloud migration in {month}",
        "named a new CTO in {month}",
        "passed a SOC 2 audit in {month}",
        "opened an engineering hub in {city} in {month}",
        "began replacing a legacy billing system in {month}",
        "acquired a smaller rival in {month}",
    ),
    "ai_transformation": (
        "launched an AI assistant in {month}",
        "hired a Chief AI Officer in {month}",
        "announced an AI roadmap in {month}",
        "opened an applied ML team in {city} in {month}",
        "piloted document search with an LLM in {month}",
        "published a data platform plan in {month}",
    ),
}

# Hiring signals: a topic the brief states and words the scorer uses to spot it in an email.
SIGNALS = (
    {"topic": "a move from Heroku to AWS", "cues": ["Heroku"]},
    {"topic": "a rewrite of the mobile app", "cues": ["mobile app", "rewrite"]},
    {"topic": "a new payments team", "cues": ["payments team"]},
    {"topic": "a migration to Kubernetes", "cues": ["Kubernetes"]},
    {"topic": "a second product line", "cues": ["second product"]},
    {"topic": "a data warehouse rebuild", "cues": ["warehouse"]},
    {"topic": "a new on-call rota", "cues": ["on-call"]},
    {"topic": "a move to a monorepo", "cues": ["monorepo"]},
    {"topic": "an expansion into Europe", "cues": ["Europe"]},
    {"topic": "a search feature built on embeddings", "cues": ["embeddings"]},
    {"topic": "a security certification effort", "cues": ["certification"]},
    {"topic": "a freeze on permanent hiring", "cues": ["freeze"]},
    {"topic": "a new platform team", "cues": ["platform team"]},
    {"topic": "a partner integration program", "cues": ["partner integration"]},
    {"topic": "retiring a legacy PHP service", "cues": ["PHP"]},
    {"topic": "an in-house model evaluation effort", "cues": ["model evaluation"]},
)

OBJECTIONS = (
    {"key": "agency", "text": "We already work with an agency.", "ack": "Understood that you already work with an agency"},
    {"key": "budget", "text": "Budget is frozen this quarter.", "ack": "Understood that budget is frozen this quarter"},
    {"key": "full_time", "text": "We only hire full-time staff.", "ack": "Fair point that you prefer full-time hires"},
    {"key": "timing", "text": "Not a priority right now.", "ack": "Understood that this is not a priority right now"},
)
