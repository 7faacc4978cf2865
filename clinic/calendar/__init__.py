"""The desk calendar: a day across practitioners or rooms, a week of one of them."""
