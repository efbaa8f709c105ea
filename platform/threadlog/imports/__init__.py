"""Bring existing comments in: WordPress (WXR with wpDiscuz), Disqus and Isso exports (docs/import.md).

One module per format reads the file into the common model (model.py); plan.py decides what each thread
becomes; writer.py appends it all in one transaction through commands.importing; command.py is
`threadlog import-comments`, admin.py the upload page. thread_key.py derives the thread key of a page's URL
exactly as the embed script does. (Nothing is imported here: the CLI loads command.py before Django is set up.)
"""
