"""Very common English words, for two estimates that need no corpus at run time.

The linter warns when a prefix (``con*``) also matches several of them, and the
index prefers not to anchor a rule under one of them (it would make the rule a
candidate for almost every article).
"""

from __future__ import annotations

_WORDS = """
    a about above according across act action actually add added after again against age ago
    agree agreed ahead air all allow almost alone along already also although always am
    among an and announce announced another answer any anyone anything appear are area areas
    around as ask asked at away back bad based be became because become been before began
    behind being believe best better between big bill billion both bring brought build
    business but buy by call called came can cannot capital care case cases cause center
    central certain chance change changes child children city claim claims clear close come
    comes coming company concern concerned condition conference confirmed consider continue
    continued control cost could council country course court cover current cut data day
    days deal decision did different do does done down due during each early east economic
    economy effect effort either else end energy enough even event events ever every expect
    expected face fact far federal feel few final financial find first five following for
    force form former forward found four free from full further future game gave general get
    give given go going good got government great group groups grow growth had half hand
    happen hard has have he head health hear held help her here high him his history hold
    home hope house how however human if important in include including increase industry
    information inside interest into is issue issues it its itself job just keep key kind
    know known large last late later law lead leader least leave left less let level life
    like likely line little local long look lost lot made major make making man management
    many market matter may me mean means meeting member members men might million minister
    month months more most move much must my nation national near need needs never new news
    next night no none not nothing now number of off offer office official officials often
    old on once one only open or order other others our out over own part party past pay
    people per percent perhaps period place plan play point police policy political possible
    power present president press price prices private probably problem process program
    provide public put question quite rate rather reached read real really reason recent
    record reform region related report reported reports research rest result return right
    rise role rule run said same say says second security see seen sell send senior service
    set several share she short should show side since six small so social some someone
    something soon south special spokesman spokeswoman staff start state states statement
    still stock stop story strong such support sure system take taken talk talks team tell
    term than that the their them then there these they thing things think third this those
    though thought three through time times to today together told too took top total toward
    trade try turn two under until up upon us use used very view vote want war was watch
    water way we week weeks well went were west what when where whether which while who
    whole whom whose why will with within without woman women word work worker workers world
    would year years yet you young your
"""

COMMON_WORDS: frozenset[str] = frozenset(_WORDS.split())
