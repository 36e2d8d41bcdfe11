"""Archival capture: every HTTP exchange of a crawl as gzipped WARC 1.1, indexed in the archive.

`write` writes the records (one gzip member each, rolling over past UNPOG_WARC_MAX_SIZE) and
indexes each in the archive's `captures` table; `middlewares.WarcCaptureMiddleware` hands it
the exchanges. The reading half needs neither Scrapy's crawl nor the network: `read` reads a
record back and checks it (`unpog verify`), `reread` parses a stored page again with the
current parser (`unpog reparse`, and a crawl whose parser changed), `cdx` writes a CDXJ index
for replay tools (`unpog cdx`).

What is byte-exact and what is not: the HTTP body is stored as Scrapy received it (chunked
transfer coding removed by Twisted, content coding such as gzip kept). The HTTP header block
is rebuilt from the headers Scrapy hands over (their order and spelling may differ from the
wire; Twisted keeps Transfer-Encoding and Connection apart, so they are missing); the
request record gains the Host header that Twisted adds on the wire.
"""
