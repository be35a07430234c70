"""What permission statements look like, language by language (data for `tickets.statements`).

Patterns are regular expressions over text normalised by
:func:`tickets.statements.statement_evidence` (NFKC, lower case, one space for
white space, Arabic alefs folded); this module holds the words, the matching
lives there.
"""

from __future__ import annotations

from tickets.records import Record

# --- Licences --------------------------------------------------------------------

LICENCE_NAMES: tuple[str, ...] = (
    # Latin codes are bounded by ASCII letters and digits only: in
    # "以CC BY-SA发布" the CJK neighbours are word characters too.
    r"(?<![a-z0-9])cc[- ]?(?:by(?:[- ]?(?:sa|nc|nd))*|0|zero)(?![a-z0-9])",
    r"creative[- ]?commons",
    r"\battribution[- ]share[- ]?alike",
    r"(?<![a-z0-9])gfdl(?![a-z0-9])",
    r"\bgnu free documentation",
    r"\bgnu fdl\b",
    r"\bpublic domain\b",
    r"\bfree licen[cs]e",
    r"\bgemeinfrei",
    r"\bfreien? lizenz",
    r"\bnamensnennung",
    r"\bdomaine public\b",
    r"\blicence libre\b",
    r"\bdominio p[uú]blico\b",
    r"\blicencia libre\b",
    r"\bpubblico dominio\b",
    r"\bdominio pubblico\b",
    r"\blicenza libera\b",
    r"\bdom[ií]nio p[uú]blico\b",
    r"\blicen[çc]a livre\b",
    r"\bpubliek domein\b",
    r"\bvrije licentie\b",
    r"\bdomen(?:a|ie|y|ę) publiczn",
    r"\bwoln(?:a|ej|ą) licencj",
    r"общественно[ем] достояни",
    r"свободн(?:ой|ая|ую|ые|ыми) лицензи",
    r"криэйтив коммонс",
    r"\bvoln(?:é|ého|ým) díl",
    r"\bsvobodn(?:á|ou|é) licenc",
    r"パブリック・?ドメイン",
    r"クリエイティブ・?コモンズ",
    r"自由ライセンス",
    r"公有领域|公有領域|公共领域|公共領域",
    r"知识共享|知識共享|创作共用|創作共用|創用cc",
    r"自由许可|自由許可|自由授权|自由授權",
    r"المشاع الابداعي",
    r"الملكيه العامه|الملكية العامة|الملك العام",
    r"رخصه حره|رخصة حرة|ترخيص حر",
)


# --- Per-language patterns -------------------------------------------------------


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class Patterns(Record):
    """What a statement looks like in one language."""

    code: str
    #: First-person acts of releasing or consenting: enough with a licence.
    acts: tuple[str, ...]
    #: Claims of authorship: enough with a licence in the same sentence.
    authorship: tuple[str, ...]
    #: Words that, among the two before an act, make it hypothetical or negated.
    guards: frozenset[str]
    #: Words (for Chinese: characters) that negate an act before or inside it.
    negations: frozenset[str]
    #: Words that make an authorship sentence a complaint ("used without …").
    complaints: tuple[str, ...]
    #: Passive permissions ("it may be used under …"): enough with a licence
    #: and a claim of authorship anywhere in the text.
    weak_acts: tuple[str, ...] = ()
    #: Words that, inside a matched act, make it a reported or hypothetical one
    #: ("I want to know whether I can publish …").
    subordinators: frozenset[str] = frozenset()
    #: Whether negation follows the verb ("ich stimme … nicht zu"), so the rest
    #: of the clause is checked too.
    negation_after: bool = False


EN = Patterns(
    "en",
    acts=(
        r"\bi (?:hereby |herewith )?(?:affirm|declare|certify|confirm|state) that i(?: am|'m)\b",
        r"\b(?:i|we) (?:hereby |herewith |also |now )?(?:agree|consent) to (?:publish|release"
        r"|license|licence|make|share|donate|the (?:publication|release|licensing|use))",
        r"\b(?:i|we) (?:hereby |herewith |also |now )?(?:release|license|licence|relicense"
        r"|grant|donate|dedicate|authori[sz]e|permit)\b",
        r"\b(?:i|we)(?: have|'ve| had) (?:already |now |just )?(?:released|licensed|licenced"
        r"|relicensed|dedicated)\b",
        r"\b(?:i|we)(?: would|'d) (?:like|love) to (?:release|license|licence|donate|publish"
        r"|share|make)\b",
        r"\b(?:i|we) (?:want|wish|intend) to (?:release|license|licence|donate|publish|make)\b",
        r"\b(?:i|we)(?: am|'m| are|'re) (?:releasing|licensing|licencing|donating"
        r"|(?:happy|glad|willing|pleased) (?:to (?:release|license|licence|share|donate|let)"
        r"|for)|(?:fine|ok|okay) with)\b",
        r"\b(?:i|we) (?:hereby )?give (?:you |wikipedia |wikimedia |commons |everyone |anyone "
        r"|the foundation )?(?:my |our |full )?(?:permission|consent|the right)\b",
        r"\byou (?:may|can|are free to|are welcome to|have (?:my|our) permission to"
        r"|are allowed to|have permission to|have the right to) (?:freely )?(?:use|reuse|re-use"
        r"|publish|upload|share|copy|distribute)\b",
        r"\bfeel free to (?:use|publish|upload|share)\b",
        r"\bhereby (?:release|license|licence|grant|give|agree|consent|authori[sz]e|dedicate"
        r"|publish)\b",
        r"\bplease (?:feel free to )?(?:publish|use|upload|share) (?:my|our)\b",
        # "I am the photographer and hereby release it …"
        r"\b(?:and|&) (?:hereby |herewith |also )?(?:release|license|licence|relicense|dedicate"
        r"|grant|agree to (?:publish|release|license|licence))\b",
        r"\bpermission is (?:hereby )?granted\b",
        r"\b(?:i|we) (?:hereby )?(?:allow|let) (?:anyone|everyone|everybody|you|wikipedia"
        r"|wikimedia|others)\b",
    ),
    authorship=(
        r"\b(?:i|we)(?: am|'m| are|'re) (?:the |its |their )?(?:sole |original |only |legal "
        r"|rightful )?(?:photographer|author|creator|owner|copyright (?:holder|owner)"
        r"|rights? ?holder|artist|painter|illustrator|designer|architect|maker|person who took)",
        r"\b(?:i|we) (?:took|shot|made|created|painted|drew|designed|photographed|filmed"
        r"|recorded|composed) (?:this|these|that|those|the|it|them|both|all|each)\b",
        r"\b(?:i|we) (?:own|hold) (?:the |all |full )?(?:copyright|rights)\b",
        r"\b(?:my|our) own (?:work|photo|photograph|picture|image|drawing|painting)\b",
        r"\b(?:photo|picture|image|drawing|painting|work|map)s? (?:taken |made |created |drawn "
        r"|painted )?by me\b",
    ),
    guards=words(
        "can could may might should shall must would do does did how if whether when why "
        "what where unless not never don't didn't doesn't cannot can't won't wouldn't "
        "shouldn't before"
    ),
    negations=words("not never no don't didn't doesn't won't cannot can't"),
    weak_acts=(
        r"\b(?:can|may) (?:freely )?be (?:freely )?(?:used|reused|re-used|published|shared)\b",
        r"\b(?:is|are) (?:hereby )?(?:released|licensed|licenced|available) (?:under|as)\b",
    ),
    complaints=(
        r"\bwithout\b",
        r"\bstole",
        r"\bviolat",
        r"\binfring",
        r"\bunauthori",
        r"\bnot allowed\b",
        r"\bno permission\b",
    ),
    subordinators=words("if whether"),
)

DE = Patterns(
    "de",
    acts=(
        r"\bhiermit (?:erkläre|bestätige|versichere|gebe|stelle|erteile|räume|lizenziere"
        r"|veröffentliche|übertrage)\b",
        r"\b(?:ich|wir) (?:erkläre|erklären|bestätige|bestätigen|versichere|versichern)"
        r"(?: hiermit)?,? dass (?:ich|wir)\b",
        r"\b(?:ich|wir) (?:stimme|stimmen) (?:hiermit )?(?:zu,? (?:dass|das|die|den|es|meine"
        r"|unsere)|der (?:veröffentlichung|freigabe|lizenzierung|nutzung|verwendung))\b",
        r"\b(?:gebe|stelle|erteile|erkläre|bestätige|lizenziere|übertrage|räume) (?:ich |wir )?"
        r"hiermit\b",
        r"\b(?:ich|wir) (?:bin|sind) (?:hiermit )?(?:damit )?einverstanden\b",
        r"\b(?:ich|wir|und) (?:gebe|geben|stelle|stellen)\b.{0,120}?"
        r"\b(?:frei|zur verfügung|bereit)\b",
        r"\b(?:gebe|geben|stelle|stellen) (?:ich|wir)\b.{0,120}?"
        r"\b(?:frei|zur verfügung|bereit)\b",
        r"\b(?:ich|wir)\b.{0,80}?\b(?:freigeben|freizugeben|freigegeben|lizenzieren"
        r"|lizensieren|lizenziert|zur verfügung stellen|zur verfügung gestellt)\b",
        r"\b(?:ich|wir) (?:erteile|erteilen|gebe|geben) (?:hiermit )?(?:ihnen |euch |dir "
        r"|der wikipedia |wikimedia )?(?:die |meine |unsere )?(?:erlaubnis|genehmigung"
        r"|zustimmung|einwilligung)\b",
        r"\b(?:sie|ihr|du) (?:dürfen|dürft|darfst|können|könnt|kannst) (?:mein|meine|meinen"
        r"|unser|unsere|das|die|dieses|diese|den)\b.{0,60}?\b(?:verwenden|nutzen"
        r"|benutzen|veröffentlichen|hochladen)\b",
    ),
    authorship=(
        r"\b(?:ich|wir) (?:bin|sind) (?:der |die |das )?(?:alleinige[nr]? |einzige[nr]? )?"
        r"(?:fotograf|urheber|autor|ersteller|rechteinhaber|inhaber|schöpfer|künstler|maler"
        r"|zeichner)",
        r"\b(?:ich|wir) (?:habe|haben) (?:das|dieses|die|diese|den|es|sie|alle|beide)\b"
        r".{0,60}?\b(?:fotografiert|aufgenommen|gemacht|erstellt|gemalt|gezeichnet"
        r"|geschossen|entworfen)\b",
        r"\b(?:mein|meine|unser|unsere) eigene[sn]? (?:werk|foto|bild|aufnahme)\b",
        r"\b(?:foto|bild|werk|aufnahme) (?:ist|stammt) von mir\b",
        r"\b(?:habe|haben) (?:ich|wir) (?:es |sie |das |dieses |die )?(?:\S+ )?(?:selbst |selber "
        r"|persönlich )?(?:fotografiert|aufgenommen|gemacht|erstellt|gemalt|gezeichnet"
        r"|geschossen|entworfen)\b",
    ),
    guards=words(
        "wie ob wenn falls kann darf muss soll sollte könnte nicht nie kein keine warum bevor"
    ),
    negations=words("nicht nie niemals kein keine keinesfalls"),
    weak_acts=(
        r"\b(?:darf|dürfen|kann|können)\b.{0,80}?\b(?:verwendet|genutzt|veröffentlicht"
        r"|weiterverwendet) werden\b",
        r"\b(?:steht|stehen) (?:ab sofort |hiermit )?unter\b",
    ),
    negation_after=True,
    complaints=(r"\bohne\b", r"gestohlen", r"\bverletz", r"unerlaubt", r"nicht erlaubt"),
    subordinators=words("ob wenn falls wie"),
)

FR = Patterns(
    "fr",
    acts=(
        r"\b(?:je|nous) (?:déclare|déclarons|affirme|affirmons|certifie|certifions|confirme"
        r"|confirmons|atteste|attestons) (?:par la présente )?(?:que |qu')(?:je|nous)\b",
        r"\bj'(?:affirme|atteste|certifie|déclare)\b",
        r"\bsoussignée?s?\b.{0,80}?\b(?:autorise|déclare|certifie|atteste|accepte|cède)\b",
        r"\b(?:j'|nous )(?:accepte|acceptons|consens|consentons) (?:de |à )?(?:publier"
        r"|diffuser|placer|mettre|libérer|verser|la publication|la diffusion)",
        r"\b(?:je|nous) (?:la |le |les |l')?(?:publie|publions|place|plaçons|mets|mettons"
        r"|libère|libérons|diffuse|diffusons|cède|cédons|verse|versons)\b.{0,80}?"
        r"\b(?:sous|dans le domaine|en licence|avec la licence|à disposition)",
        r"\b(?:j'|je vous |nous vous |nous )(?:autorise|autorisons|accorde|accordons)\b",
        r"\b(?:je|nous) (?:donne|donnons) (?:mon|notre|l'|par la présente mon) ?(?:accord"
        r"|autorisation|permission|consentement)\b",
        r"\b(?:je|nous) (?:souhaite|souhaitons|voudrais|voudrions|veux|voulons) (?:la |le "
        r"|les )?(?:publier|placer|mettre|libérer|diffuser|verser|céder)\b",
        r"\bvous (?:pouvez|êtes libres? d'|avez (?:mon|notre) (?:autorisation|accord) pour) "
        r"?(?:librement )?(?:l'|la |les |le )?(?:utiliser|publier|réutiliser|diffuser)\b",
    ),
    authorship=(
        r"\b(?:je suis|nous sommes) (?:l'|le |la |les )?(?:seule? |unique )?(?:auteur|autrice"
        r"|photographe|créat(?:eur|rice)|propriétaire|titulaire|ayants? droit|détent(?:eur"
        r"|rice)|artiste|peintre)",
        r"\bj'ai (?:moi-même )?(?:pris|réalisé|fait|créé|dessiné|peint|photographié) "
        r"(?:moi-même )?(?:cette|ces|la|le|les|ce|cet)\b",
        r"\b(?:mon|ma|notre) propre (?:oeuvre|œuvre|photo|photographie|travail|création)\b",
    ),
    guards=words(
        "si comment est-ce puis-je dois-je peux puis dois pourquoi quand ne n' pas jamais avant"
    ),
    negations=words("ne n' jamais"),
    weak_acts=(
        r"\bpeu(?:t|vent) (?:librement )?être (?:librement )?(?:utilisée?s?|publiée?s?"
        r"|réutilisée?s?|diffusée?s?)\b",
    ),
    complaints=(r"\bsans\b", r"\bvol[ée]", r"\bviol", r"contrefaçon", r"\b(?:non|pas) autoris"),
    subordinators=words("si comment"),
)

ES = Patterns(
    "es",
    acts=(
        r"\b(?:afirmo|declaro|certifico|confirmo|manifiesto|afirmamos|declaramos)"
        r"(?: por la presente| bajo juramento)? (?:que )?(?:yo )?(?:soy|somos)\b",
        r"\b(?:acepto|aceptamos|autorizo|autorizamos|consiento|consentimos|accedo) (?:a |en )?"
        r"(?:publicar|liberar|la publicación|licenciar|que se publique|difundir|el uso|ceder)",
        r"\b(?:la |lo |las |los )?(?<!dominio )(?:publico|publicamos|libero|liberamos|cedo"
        r"|cedemos|licencio|licenciamos|comparto|pongo|ponemos|coloco)\b.{0,80}?"
        r"\b(?:bajo|con la licencia|en el dominio|al dominio|en dominio)\b",
        r"\b(?:otorgo|otorgamos|concedo|concedemos|doy|damos) (?:mi |nuestro |el |)?"
        r"(?:permiso|autorización|consentimiento)\b",
        r"\b(?:quiero|quisiera|deseo|me gustaría|queremos) (?:publicar|liberar|ceder|licenciar"
        r"|donar)\b",
        r"\b(?:pueden|puede|podéis|puedes) (?:usar|utilizar|publicar|reutilizar) (?:libremente )?"
        r"(?:mi|mis|nuestra|nuestras|nuestro|nuestros|esta|este|estas|estos)\b",
        r"\btienen? (?:mi|nuestro) (?:permiso|autorización|consentimiento)\b",
        r"\bautoriz(?:o|amos)\b",
    ),
    authorship=(
        r"\b(?:yo )?(?:soy|somos) (?:el |la |los |las )?(?:únic[oa]s? )?(?:autor|autora"
        r"|fotógraf[oa]|creador|creadora|propietari[oa]|titular|dueñ[oa]|artista)",
        r"\b(?:tomé|saqué|hice|realicé|creé|pinté|dibujé|fotografié) (?:yo mism[oa] )?(?:esta"
        r"|estas|este|estos|la|las|el|los|esa|esas)\b",
        r"\b(?:es|son) (?:mi|mis|nuestra|nuestro) (?:propi[oa]s? )?(?:obra|foto|fotografía"
        r"|trabajo|imagen)\b",
    ),
    guards=words("si cómo como puedo debo qué por cuándo no nunca antes"),
    negations=words("no nunca jamás"),
    weak_acts=(r"\bpueden? (?:ser )?(?:libremente )?(?:usad|utilizad|publicad|reutilizad)",),
    complaints=(r"\bsin\b", r"\brobad", r"\bviola", r"\binfring", r"\bno autoriz"),
    subordinators=words("si cómo"),
)

IT = Patterns(
    "it",
    acts=(
        r"\b(?:dichiaro|affermo|certifico|confermo|dichiariamo|affermiamo)"
        r"(?: con la presente)? (?:di essere|di esser|che sono|che siamo)\b",
        r"\b(?:accetto|acconsento|accettiamo|acconsentiamo) (?:di |a |alla )?(?:pubblicare"
        r"|rilasciare|pubblicazione|concedere|licenziare|mettere)",
        r"\b(?:la |lo |le |li |l')?(?:rilascio|rilasciamo|pubblico(?! dominio)|pubblichiamo"
        r"|concedo|concediamo|cedo|metto|mettiamo|licenzio)\b.{0,80}?\b(?:con|sotto"
        r"|in pubblico dominio|nel pubblico dominio)\b",
        r"\b(?:do|diamo|concedo|concediamo) (?:il mio |il nostro )?(?:permesso|consenso"
        r"|autorizzazione)\b",
        r"\bautorizz(?:o|iamo)\b",
        r"\b(?:voglio|vorrei|desidero|intendo|vogliamo) (?:rilasciare|pubblicare|concedere"
        r"|donare|licenziare)\b",
        r"\b(?:potete|può|puoi) (?:liberamente |tranquillamente )?(?:usare|utilizzare"
        r"|pubblicare|riutilizzare)\b",
    ),
    authorship=(
        r"\b(?:io )?(?:sono|siamo) (?:l'|il |la |i |gli )?(?:unic[oa] )?(?:autore|autrice"
        r"|fotograf[oa]|creat(?:ore|rice)|proprietari[oa]|titolare|detentore|artista)",
        r"\bdi essere (?:l'|il |la )?(?:unic[oa] )?(?:autore|autrice|fotograf[oa]|creatore"
        r"|proprietari[oa]|titolare|detentore)",
        r"\bho (?:scattato|fatto|realizzato|creato|dipinto|disegnato|fotografato) (?:io )?"
        r"(?:questa|queste|questo|questi|la|le|il|lo|i|gli)\b",
        r"\b(?:è|sono) (?:un |una )?(?:mia|mio|mie|miei|nostra|nostro) (?:opera|foto"
        r"|fotografia|lavoro|immagine)\b",
    ),
    guards=words("se come posso devo perché quando non mai prima"),
    negations=words("non mai"),
    weak_acts=(
        r"\b(?:può|possono) essere (?:liberamente )?(?:usat|utilizzat|pubblicat|riutilizzat)",
    ),
    complaints=(r"\bsenza\b", r"\brubat", r"\bviola", r"\bnon autorizz"),
    subordinators=words("se come"),
)

NL = Patterns(
    "nl",
    acts=(
        r"\bhierbij (?:verklaar|bevestig|geef|stel|verleen|publiceer)\b",
        r"\b(?:ik|wij|we) (?:verklaar|verklaren|bevestig|bevestigen) (?:hierbij )?dat"
        r" (?:ik|wij|we)\b",
        r"\b(?:ik|wij|we) (?:ga|gaan) (?:hierbij )?(?:ermee )?akkoord\b",
        r"\b(?:ik|wij|we) (?:stem|stemmen) (?:hierbij )?(?:ermee )?in\b",
        r"\b(?:ik|wij|we|en) (?:geef|geven|stel|stellen)\b.{0,120}?\b(?:vrij|beschikbaar"
        r"|ter beschikking)\b",
        r"\b(?:geef|geven|stel|stellen) (?:ik|wij|we)\b.{0,120}?\b(?:vrij|beschikbaar"
        r"|ter beschikking)\b",
        r"\b(?:ik|wij|we) (?:geef|geven|verleen|verlenen) (?:hierbij )?(?:u |jullie |wikipedia "
        r"|wikimedia )?(?:mijn |onze )?(?:toestemming|permissie)\b",
        r"\b(?:ik|wij|we) (?:publiceer|publiceren|licentieer)\b",
        r"\b(?:ik|wij|we) (?:wil|willen|zou graag|zouden graag)\b.{0,80}?\b(?:vrijgeven"
        r"|publiceren|beschikbaar stellen|doneren)\b",
        r"\b(?:u|jullie|je) (?:mag|mogen|kunt|kan|kunnen) (?:mijn|onze|deze|die|het|de)\b"
        r".{0,60}?\b(?:gebruiken|publiceren|hergebruiken)\b",
    ),
    authorship=(
        r"\b(?:ik ben|wij zijn|we zijn) (?:de |het )?(?:enige )?(?:fotograaf|maker|auteur"
        r"|eigenaar|rechthebbende|auteursrechthebbende|kunstenaar|schilder|ontwerper)",
        r"\b(?:ik heb|wij hebben|we hebben) (?:deze|dit|die|dat|de|het|ze|alle)\b.{0,40}?"
        r"\b(?:gemaakt|genomen|gefotografeerd|geschilderd|getekend|ontworpen)\b",
        r"\b(?:mijn|ons) eigen (?:werk|foto)\b",
    ),
    guards=words("hoe of als mag kan moet waarom wanneer niet nooit voordat"),
    negations=words("niet nooit geen"),
    weak_acts=(r"\b(?:mag|mogen) (?:vrij )?(?:gebruikt|gepubliceerd|hergebruikt) worden\b",),
    negation_after=True,
    complaints=(r"\bzonder\b", r"gestolen", r"\binbreuk", r"niet toegestaan"),
    subordinators=words("of als hoe"),
)

PL = Patterns(
    "pl",
    acts=(
        r"\b(?:oświadczam|oświadczamy|potwierdzam|potwierdzamy|zaświadczam),? (?:niniejszym )?"
        r"(?:że|iż) (?:jestem|jesteśmy)\b",
        r"\b(?:zgadzam się|zgadzamy się|wyrażam zgodę|wyrażamy zgodę) (?:na )?(?:opublikowa"
        r"|publikac|udostępni|udzieleni|licencjonowa|rozpowszechnia|wykorzystani)",
        r"\b(?:udostępniam|udostępniamy|publikuję|publikujemy|licencjonuję|przekazuję"
        r"|przekazujemy)\b",
        r"\b(?:udzielam|udzielamy)\b(?: \S+){0,3} (?:licencji|zgody|pozwolenia|prawa)\b",
        r"\b(?:chcę|chciałbym|chciałabym|chcielibyśmy|pragnę) (?:udostępnić|opublikować"
        r"|przekazać|udzielić)\b",
        r"\b(?:możecie|możesz|może pan|może pani|mogą państwo) (?:swobodnie )?(?:używać|użyć"
        r"|wykorzystać|wykorzystywać|publikować|opublikować)\b",
    ),
    authorship=(
        r"\b(?:jestem|jesteśmy) (?:jedyn(?:ym|ą) )?(?:autorem|autorką|autorami|twórcą"
        r"|twórczynią|twórcami|fotografem|fotografką|właściciel(?:em|ką|ami)|posiadaczem)",
        r"\b(?:zrobiłem|zrobiłam|wykonałem|wykonałam|stworzyłem|stworzyłam|namalowałem"
        r"|namalowałam|narysowałem|narysowałam|zrobiliśmy|wykonaliśmy|sfotografowałem"
        r"|sfotografowałam) (?:sam |sama |osobiście )?(?:to|te|ten|tę|tego|tych)\b",
        r"\b(?:moje|mój|moja|nasze|nasz|nasza) własn(?:e|y|a) (?:dzieło|zdjęcie|praca|utwór)\b",
    ),
    guards=words("czy jak jeśli jeżeli gdy kiedy dlaczego nie mogę muszę zanim"),
    negations=words("nie nigdy"),
    weak_acts=(r"\bmoże (?:być )?(?:swobodnie )?(?:używan|wykorzystywan|publikowan)",),
    complaints=(r"\bbez\b", r"ukradzion", r"\bnarusz", r"nielegaln"),
    subordinators=words("czy jeśli jeżeli"),
)

PT = Patterns(
    "pt",
    acts=(
        r"\b(?:declaro|afirmo|certifico|confirmo|declaramos|afirmamos)(?: por meio desta"
        r"| por este meio| pela presente)? (?:que )?(?:eu )?(?:sou|somos)\b",
        r"\b(?:concordo|concordamos|aceito|aceitamos|autorizo|autorizamos|consinto)"
        r" (?:em |com |a )?(?:publicar|a publicação|disponibilizar|licenciar|liberar|ceder)",
        r"\b(?:a |o |as |os )?(?<!domínio )(?<!dominio )(?:disponibilizo|disponibilizamos"
        r"|publico|publicamos|libero|liberamos|licencio|licenciamos|cedo|cedemos|coloco"
        r"|colocamos)\b.{0,80}?\b(?:sob|com a licença|em domínio|no domínio|ao domínio)",
        r"\b(?:dou|damos|concedo|concedemos) (?:a )?(?:minha |nossa )?(?:permissão|autorização"
        r"|consentimento)\b",
        r"\b(?:quero|gostaria de|desejo|queremos) (?:disponibilizar|publicar|liberar|licenciar"
        r"|doar|ceder)\b",
        r"\b(?:podem|vocês podem|você pode) (?:livremente )?(?:usar|utilizar|publicar"
        r"|reutilizar)\b",
    ),
    authorship=(
        r"\b(?:eu )?(?:sou|somos) (?:o |a |os |as )?(?:únic[oa] )?(?:autora?|autores"
        r"|fotógraf[oa]|criadora?|proprietári[oa]|titular|titulares|don[oa]|artista"
        r"|detentora?)",
        r"\b(?:tirei|fiz|criei|pintei|desenhei|fotografei|produzi) (?:eu mesm[oa] )?(?:esta"
        r"|estas|este|estes|essa|essas|esse|a|as|o|os)\b",
        r"\b(?:é|são) (?:minha|meu|minhas|meus|nossa|nosso) (?:própri[oa] )?(?:obra|foto"
        r"|fotografia|trabalho|imagem)\b",
    ),
    guards=words("se como posso devo por porque quando não nunca antes"),
    negations=words("não nunca jamais"),
    weak_acts=(r"\bpode(?:m)? ser (?:livremente )?(?:usad|utilizad|publicad|reutilizad)",),
    complaints=(r"\bsem\b", r"\broubad", r"\bviola", r"\bnão autoriz"),
    subordinators=words("se como"),
)

RU = Patterns(
    "ru",
    acts=(
        r"\bнастоящим (?:я |мы )?(?:подтверждаю|заявляю|удостоверяю|подтверждаем|заявляем)",
        r"\b(?:подтверждаю|заявляю|подтверждаем|заявляем),? что (?:я |мы )?(?:являюсь"
        r"|являемся)",
        r"\b(?:согласен|согласна|согласны) (?:на )?(?:опубликова|публикац|распространени"
        r"|предостав|выпуск|лицензирова)",
        r"\b(?:её |ее |его |их )?(?:публикую|публикуем|выпускаю|выпускаем|передаю|передаём"
        r"|передаем|предоставляю|предоставляем|лицензирую|разрешаю|разрешаем)(?![а-яё])",
        r"\b(?:даю|даём|даем) (?:своё |свое |моё |мое |наше )?(?:согласие|разрешение)",
        r"\b(?:хочу|хотел бы|хотела бы|хотим) (?:опубликовать|выпустить|передать|предоставить"
        r"|лицензировать)",
        r"\b(?:вы можете|можете) (?:свободно )?(?:использовать|публиковать|опубликовать)",
    ),
    authorship=(
        r"\b(?:являюсь|являемся) (?:единственным )?(?:автором|авторами|создателем|фотографом"
        r"|владельцем|владельцами|правообладателем|правообладателями|обладателем)",
        r"\bя (?:автор|фотограф|создатель|владелец|правообладатель)",
        r"\b(?:сделал|сделала|сфотографировал|сфотографировала|снял|сняла|создал|создала"
        r"|нарисовал|нарисовала|сделали|сняли) (?:сам |сама |лично )?(?:эту|этот|это|эти"
        r"|её|ее|его|их)(?![а-яё])",
        r"\b(?:моя|мой|моё|мое|наша|наш) собственн\w* (?:работа|фотография|снимок"
        r"|произведение)",
    ),
    guards=words("как можно могу ли если почему когда не нельзя прежде"),
    negations=words("не нет никогда"),
    weak_acts=(r"\bможно (?:свободно )?(?:использовать|публиковать)",),
    complaints=(r"\bбез\b", r"украл", r"украден", r"нарушени", r"незаконн"),
    subordinators=words("ли если"),
)

CS = Patterns(
    "cs",
    acts=(
        r"\b(?:prohlašuji|potvrzuji|prohlašujeme|potvrzujeme),? (?:tímto )?,? ?že (?:jsem|jsme)",
        r"\b(?:souhlasím|souhlasíme) (?:se |s )?(?:zveřejněním|zveřejnit|publikováním|publikovat"
        r"|uvolněním|uvolnit|poskytnutím|licencováním)",
        r"\b(?:uvolňuji|uvolňujeme|zveřejňuji|zveřejňujeme|licencuji|poskytuji|poskytujeme)\b",
        r"\b(?:dávám|dáváme|uděluji|udělujeme) (?:tímto )?(?:svůj |náš )?(?:souhlas|svolení"
        r"|povolení|licenci)\b",
        r"\b(?:chci|chtěl bych|chtěla bych|chceme) (?:uvolnit|zveřejnit|poskytnout|darovat)\b",
        r"\b(?:můžete|smíte) (?:ji |ho |je |to )?(?:volně |klidně )?(?:použít|používat|zveřejnit"
        r"|publikovat)\b",
    ),
    authorship=(
        r"\b(?:jsem|jsme) (?:jediným |jedinou )?(?:autorem|autorkou|autory|tvůrcem|tvůrkyní"
        r"|fotografem|fotografkou|vlastníkem|vlastnicí|majitelem|majitelkou|držitelem)",
        r"\b(?:jsem|jsme) (?:ji |ho |je |to |tu |tuto |tento |toto )?(?:vyfotil|vyfotila"
        r"|vyfotografoval|vyfotografovala|vytvořil|vytvořila|nakreslil|nakreslila|namaloval"
        r"|namalovala|pořídil|pořídila|vyfotili|vytvořili)",
        r"\b(?:vyfotil|vyfotila|vytvořil|vytvořila|pořídil|pořídila|nakreslil|nakreslila) jsem\b",
        r"\b(?:moje|můj|naše|náš) vlastní (?:dílo|fotka|fotografie|práce)\b",
    ),
    guards=words("jak zda jestli pokud když proč můžu mohu smím ne než"),
    negations=words("ne nikdy"),
    weak_acts=(r"\b(?:lze|může být) (?:volně )?(?:použít|používat|použita|použito|zveřejněn)",),
    complaints=(r"\bbez\b", r"ukraden", r"porušen", r"neoprávněn"),
    subordinators=words("zda jestli pokud"),
)

# Arabic patterns are written in the normalised spelling (see _normalise):
# hamza-carrying alefs become a bare alef, vowel marks are gone.
AR = Patterns(
    "ar",
    acts=(
        r"(?:اؤكد|اقر|اصرح|اشهد|نؤكد|نقر)(?: بموجب هذا| بهذا)? (?:ب?انني|ب?اني|انا|باننا|اننا)",
        r"(?:اوافق|نوافق|موافق|موافقه|موافقة) على (?:نشر|اتاحه|اتاحة|ترخيص|اصدار|استخدام)",
        r"(?:انشر|ننشر|اتيح|نتيح|اصدر|نصدر|اطلق|نطلق)(?:ها|ه|هم)? (?:\S+ ){0,6}?(?:بموجب|تحت|وفق)",
        r"(?:امنح|نمنح|اعطي|نعطي) (?:\S+ ){0,2}?(?:الاذن|الحق|موافقتي|موافقتنا|ترخيصا)",
        r"(?:اسمح|نسمح) (?:لكم|لك|لويكيبيديا|للجميع|لاي)",
        r"(?:يمكنكم|يمكنك|بامكانكم|بامكانك) (?:استخدام|نشر|استعمال)",
    ),
    authorship=(
        r"(?:انا|انني|اني|بانني|نحن) (?:هو |هي )?(?:ال)?(?:مصور|مؤلف|منشئ|مالك|صاحب|مبدع|فنان"
        r"|مبتكر)",
        r"(?:التقطت|صورت|رسمت|انشات|صممت|التقطنا)(?:ها|ه)? (?:هذه|هذا|الصورة|الصور|بنفسي)",
    ),
    guards=words("هل كيف اذا لماذا متى لا لم لن قبل"),
    negations=words("لا لم لن"),
    complaints=(r"بدون", r"دون اذن", r"سرق", r"انتهاك"),
    subordinators=words("اذا هل كيف"),
)

# Japanese and Chinese have no spaces to find "the two words before"; their
# questions are recognised by sentence endings instead (see _is_question).
JA = Patterns(
    "ja",
    acts=(
        r"であることを(?:確認|表明|宣言|誓約|証明)(?:します|いたします|致します)",
        r"(?:公開|公表|リリース|提供|許諾|ライセンス|利用を許可)(?:すること|する事|とすること)"
        r"に同意(?:します|いたします|致します|する)",
        r"(?:で|の下で|のもとで|により|として)(?:公開|提供|リリース|ライセンス|許諾)"
        r"(?:します|いたします|致します|しました)",
        r"(?:使用|利用|掲載|使って|使っ)(?:して)?(?:も)?(?:構いません|かまいません|いいです"
        r"|よいです|良いです|結構です|大丈夫です|ください|下さい)",
        r"(?:許可|許諾)(?:します|いたします|致します|を与えます)",
    ),
    authorship=(
        r"(?:私|わたし|僕|ぼく|当方|弊社|私たち)(?:は|が)[^。]{0,30}?(?:撮影者|著作者|作者"
        r"|著作権者|制作者|作成者|権利者|創作者|撮影した|撮った)",
        r"(?:自分|私|わたし|僕)(?:で|が)(?:撮影|撮った|作成|制作|描いた)",
    ),
    guards=frozenset(),
    negations=frozenset(),
    complaints=(r"無断", r"勝手に", r"許可なく", r"侵害"),
)

ZH = Patterns(
    "zh",
    acts=(
        r"(?:在此|特此|兹|茲)(?:确认|確認|声明|聲明|证明|證明)",
        r"(?<!不)(?:同意|愿意|願意)(?:以|按|根据|根據|依|在|将|將)?[^。]{0,40}?(?:发布|發布"
        r"|发表|發表|授权|授權|许可|許可|公开|公開|释出|釋出)",
        r"(?:我|我们|我們|本人)(?:特此|在此|现|現)?(?:授权|授權|许可|許可|允许|允許|释出|釋出"
        r"|发布|發布)(?:你们|你們|您|维基|維基|任何人|所有人|此|该|該|这|這|本)",
        r"(?:可以|可)(?:自由|随意|隨意)?(?:使用|转载|轉載|发布|發布)(?:我的|我们的|我們的|这张"
        r"|這張|此)",
    ),
    authorship=(
        r"(?:我|本人|我们|我們)(?:是|为|為)[^。]{0,20}?(?:拍摄者|拍攝者|作者|创作者|創作者"
        r"|著作权人|著作權人|版权所有者|版權所有者|版权持有人|版權持有人|摄影师|攝影師|权利人"
        r"|權利人)",
        r"(?:我|本人)(?:亲自|親自|自己)?(?:拍摄|拍攝|创作|創作|绘制|繪製)了?(?:这|這|此|该|該)",
    ),
    guards=frozenset(),
    negations=frozenset("不没沒未别別勿"),
    complaints=(r"未经|未經|盗用|盜用|侵权|侵權|擅自",),
)

LANGUAGES: tuple[Patterns, ...] = (EN, DE, FR, ES, IT, NL, PL, PT, RU, CS, AR, JA, ZH)
