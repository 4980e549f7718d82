"""Join page pictures side by side into one PNG (for the README): side-by-side.py OUT IN..."""

import sys

from PIL import Image

pictures = [Image.open(path).convert("RGB") for path in sys.argv[2:]]
gap = 12
height = max(p.height for p in pictures)
sheet = Image.new(
    "RGB", (sum(p.width for p in pictures) + gap * (len(pictures) - 1), height), "white"
)
x = 0
for picture in pictures:
    sheet.paste(picture, (x, 0))
    x += picture.width + gap
sheet.save(sys.argv[1], optimize=True)
