"""Ways mail comes in: pipe (``mail deliver``), LMTP, IMAP; all store through :mod:`.store`."""
