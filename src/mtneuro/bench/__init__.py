"""mtneuro.bench"""
