""" "Le mois en un coup d'œil": what each initiative brought the shop in one month."""
