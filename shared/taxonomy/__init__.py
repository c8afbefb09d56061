"""Published taxonomy versions as every service sees them: label translation between versions
(:mod:`.translation`), the versions a service consumed (:mod:`.cache`), COCO categories
(:mod:`.coco`)."""
