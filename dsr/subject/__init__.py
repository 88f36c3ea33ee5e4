"""One data subject's request (issue 16): find a person's images by metadata or id in every project of every
selected resource, then export or erase exactly those, and say which trained models learned from them."""
