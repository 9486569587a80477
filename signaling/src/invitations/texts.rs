//! The invitation e-mails' texts, one catalog per language. Placeholders:
//! `{number}` (grouped session number), `{link}` (customer join link),
//! `{site}` (the site's address), `{csr}` (the inviting CSR's name). The
//! customer texts follow the web client's "use my own e-mail program" texts.

use super::Language;

pub(super) struct Texts {
    pub customer_subject: &'static str,
    pub customer_body: &'static str,
    pub csr_subject: &'static str,
    pub csr_body: &'static str,
}

pub(super) fn catalog(language: Language) -> &'static Texts {
    match language {
        Language::En => &EN,
        Language::Fr => &FR,
        Language::Ro => &RO,
        Language::Nl => &NL,
        Language::SrLatn => &SR_LATN,
        Language::Pt => &PT,
    }
}

static EN: Texts = Texts {
    customer_subject: "Your support session {number}",
    customer_body: "Hello,\n\n{csr} invites you to a live support session. Please join by opening this link:\n{link}\n\nOr go to {site}, choose \"Join\" and enter the session number {number}.\n\nThe link works while the session is open.\n\nKind regards,\n{csr}\n",
    csr_subject: "Please assist in support session {number}",
    csr_body: "Hello,\n\n{csr} asks you to assist in support session {number}.\n\nSign in at {site}, choose \"Assist\" and enter the session number {number}.\n\nKind regards,\n{csr}\n",
};

static FR: Texts = Texts {
    customer_subject: "Votre session d’assistance {number}",
    customer_body: "Bonjour,\n\n{csr} vous invite à une session d’assistance en direct. Veuillez la rejoindre en ouvrant ce lien :\n{link}\n\nVous pouvez aussi aller sur {site}, choisir « Rejoindre » et saisir le numéro de session {number}.\n\nLe lien fonctionne tant que la session est ouverte.\n\nCordialement,\n{csr}\n",
    csr_subject: "Demande d’aide pour la session d’assistance {number}",
    csr_body: "Bonjour,\n\n{csr} vous demande de l’aider dans la session d’assistance {number}.\n\nConnectez-vous sur {site}, choisissez « Assister » et saisissez le numéro de session {number}.\n\nCordialement,\n{csr}\n",
};

static RO: Texts = Texts {
    customer_subject: "Sesiunea dvs. de asistență {number}",
    customer_body: "Bună ziua,\n\n{csr} vă invită la o sesiune de asistență în direct. Vă rog să vă alăturați deschizând acest link:\n{link}\n\nSau mergeți la {site}, alegeți „Alăturare” și introduceți numărul sesiunii {number}.\n\nLinkul funcționează cât timp sesiunea este deschisă.\n\nCu stimă,\n{csr}\n",
    csr_subject: "Cerere de ajutor în sesiunea de asistență {number}",
    csr_body: "Bună ziua,\n\n{csr} vă roagă să ajutați în sesiunea de asistență {number}.\n\nAutentificați-vă pe {site}, alegeți „Asistă” și introduceți numărul sesiunii {number}.\n\nCu stimă,\n{csr}\n",
};

static NL: Texts = Texts {
    customer_subject: "Uw ondersteuningssessie {number}",
    customer_body: "Hallo,\n\n{csr} nodigt u uit voor een live ondersteuningssessie. Neem deel door deze link te openen:\n{link}\n\nU kunt ook naar {site} gaan, \"Deelnemen\" kiezen en het sessienummer {number} invoeren.\n\nDe link werkt zolang de sessie open is.\n\nMet vriendelijke groet,\n{csr}\n",
    csr_subject: "Verzoek om hulp in ondersteuningssessie {number}",
    csr_body: "Hallo,\n\n{csr} vraagt u te helpen in ondersteuningssessie {number}.\n\nMeld u aan op {site}, kies \"Assisteren\" en voer het sessienummer {number} in.\n\nMet vriendelijke groet,\n{csr}\n",
};

static SR_LATN: Texts = Texts {
    customer_subject: "Vaša sesija podrške {number}",
    customer_body: "Zdravo,\n\n{csr} vas poziva na sesiju podrške uživo. Molim vas da se pridružite otvaranjem ovog linka:\n{link}\n\nIli idite na {site}, izaberite „Pridruži se“ i unesite broj sesije {number}.\n\nLink radi dok je sesija otvorena.\n\nSrdačan pozdrav,\n{csr}\n",
    csr_subject: "Molba za pomoć u sesiji podrške {number}",
    csr_body: "Zdravo,\n\n{csr} vas moli da pomognete u sesiji podrške {number}.\n\nPrijavite se na {site}, izaberite „Pomoć“ i unesite broj sesije {number}.\n\nSrdačan pozdrav,\n{csr}\n",
};

static PT: Texts = Texts {
    customer_subject: "A sua sessão de suporte {number}",
    customer_body: "Olá,\n\n{csr} convida-o para uma sessão de suporte em direto. Junte-se abrindo esta ligação:\n{link}\n\nOu aceda a {site}, escolha \"Participar\" e introduza o número da sessão {number}.\n\nA ligação funciona enquanto a sessão estiver aberta.\n\nCom os melhores cumprimentos,\n{csr}\n",
    csr_subject: "Pedido de ajuda na sessão de suporte {number}",
    csr_body: "Olá,\n\n{csr} pede-lhe ajuda na sessão de suporte {number}.\n\nInicie sessão em {site}, escolha \"Assistir\" e introduza o número da sessão {number}.\n\nCom os melhores cumprimentos,\n{csr}\n",
};
