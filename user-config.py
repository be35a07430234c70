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
max_retries = 3
retry_wait = 5
retry_max = 60
# Family files of the sandbox wikis are registered at run time.
