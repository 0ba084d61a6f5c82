"""The email channel both ways (issue 11): replies mailed to customers (M1–M5), customers'
mail taken in by IMAP, an email provider's webhook or `manage.py mail_receive` (M6–M16), and
message HTML shown safely everywhere (M17). Real servers: aiosmtpd for SMTP, Dovecot for IMAP.
"""
