"""`python -m unpog_crawler.cli`: the `unpog` command without its installed script."""

from unpog_crawler.cli import main

main()
