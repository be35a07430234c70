# pywikibot reads this file (PYWIKIBOT_DIR points at this folder).
# No secret belongs here: wikibridge installs each volunteer's OAuth
# credentials at run time, for the length of one edit, and removes them after.
family = 'commons'
mylang = 'commons'
# Edits are made for people waiting on a ticket; keep pauses short, but let
# the wiki say when it is busy.
put_throttle = 1
minthrottle = 0
maxthrottle = 60
write_maxlag = 5
# Every wiki call of a batch ends in bounded time: at most max_retries
# retries, each wait at most retry_max seconds, each request cut off after
# socket_timeout (connect, read). The one refusal pywikibot retries without
# counting ("Nonce already used") is ended by wikibridge (wiki/pwb.py).
max_retries = 3
retry_wait = 5
retry_max = 60
socket_timeout = (6.05, 45)
# Family files of the sandbox wikis are registered at run time.
