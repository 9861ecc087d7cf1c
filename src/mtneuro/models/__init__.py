"""mtneuro.models"""
