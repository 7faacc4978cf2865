"""Email to patients who agreed to it: an outbox of whole messages, sent over SMTP.

Like the texts, every planned email is a row written in the transaction of the event that
plans it; the dispatcher pass sends the rows. Features compose the messages; this package only
keeps and sends them, and never imports the features.
"""
